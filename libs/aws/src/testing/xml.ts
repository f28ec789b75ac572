// The few XML and Query-API pieces the EC2 stand-in needs: form bodies in, EC2's 2016-11-15
// response documents out.

export const EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/";

export function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] ?? c);
}

/** A value tree rendered as XML: strings/numbers/booleans are text, arrays are `<item>` lists, undefined is left out. */
export type XmlValue = string | number | boolean | undefined | XmlValue[] | { [key: string]: XmlValue };

export function toXml(value: XmlValue): string {
  if (value === undefined) return "";
  if (typeof value === "string") return escapeXml(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map((v) => `<item>${toXml(v)}</item>`).join("");
  return Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
    .join("");
}

export function ec2Response(action: string, requestId: string, body: Record<string, XmlValue>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}"><requestId>${requestId}</requestId>${toXml(body)}</${action}Response>`;
}

export function ec2ErrorResponse(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}

/** The Query API's flattened parameters (`Filter.1.Value.2=...`). */
export class QueryParams {
  constructor(private readonly params: URLSearchParams) {}

  get(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  /** `<prefix>.1`, `<prefix>.2`, ... in order. */
  list(prefix: string): string[] {
    const out: string[] = [];
    for (let i = 1; ; i++) {
      const v = this.params.get(`${prefix}.${i}`);
      if (v === null) return out;
      out.push(v);
    }
  }

  /** The members `<prefix>.N.*` as sub-parameter sets. */
  members(prefix: string): QueryParams[] {
    const out: QueryParams[] = [];
    for (let i = 1; ; i++) {
      const head = `${prefix}.${i}.`;
      const sub = new URLSearchParams();
      for (const [k, v] of this.params) if (k.startsWith(head)) sub.append(k.slice(head.length), v);
      if ([...sub.keys()].length === 0) return out;
      out.push(new QueryParams(sub));
    }
  }

  /** `Tag.N.Key` / `Tag.N.Value` pairs. */
  tags(prefix = "Tag"): { key: string; value: string }[] {
    return this.members(prefix).map((m) => ({ key: m.get("Key") ?? "", value: m.get("Value") ?? "" }));
  }
}

/** The region a SigV4 request was signed for (`Credential=AKID/date/<region>/ec2/aws4_request`). */
export function signedRegion(authorization: string | undefined): string | undefined {
  return /Credential=[^/,\s]+\/\d{8}\/([^/]+)\/[^/]+\/aws4_request/.exec(authorization ?? "")?.[1];
}
