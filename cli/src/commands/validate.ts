import { defaultRegistry, validateBody } from "@atomic-ci/messages";
import { EXIT } from "../errors.js";
import { readMessageFile } from "../io.js";

export interface ValidateArgs {
  file: string;
  topic?: string;
  json?: boolean;
}

/** `messages validate`: which schema a message matches, and every failing field path if it fails. */
export async function validateCommand(args: ValidateArgs): Promise<number> {
  const doc = await readMessageFile(args.file, args.topic);
  const schemaHeader = doc.headers["fedora_messaging_schema"];
  const schema = defaultRegistry.resolve({ schemaHeader: typeof schemaHeader === "string" ? schemaHeader : undefined, topic: doc.topic });
  const result = validateBody(schema, doc.body);
  const known = schema.name !== "base.message";
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ valid: result.ok, schema: schema.name, topic: doc.topic, shape: doc.shape, issues: result.ok ? [] : result.issues })}\n`,
    );
  } else if (result.ok) {
    process.stdout.write(`valid: ${schema.name} (topic ${doc.topic}; file is a ${doc.shape})\n`);
    if (!known) process.stdout.write("note: no schema is registered for this topic; checked as a base fedora-messaging message (any JSON object)\n");
  } else {
    process.stdout.write(`invalid: ${schema.name} (topic ${doc.topic}; file is a ${doc.shape})\n`);
    for (const issue of result.issues) process.stdout.write(`  ${issue.path}: ${issue.message}\n`);
  }
  return result.ok ? EXIT.ok : EXIT.failure;
}
