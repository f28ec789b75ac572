/**
 * AMQP topic matching: words are separated by `.`, `*` matches exactly one word and `#`
 * matches zero or more words. This is RabbitMQ's topic exchange semantics, used by the
 * in-memory transport and by the NATS transport (whose own wildcards differ).
 */
export function topicMatches(pattern: string, topic: string): boolean {
  return matchWords(pattern.split("."), 0, topic.split("."), 0);
}

function matchWords(p: string[], pi: number, t: string[], ti: number): boolean {
  while (pi < p.length) {
    const word = p[pi];
    if (word === "#") {
      // Collapse consecutive '#' and try every split point.
      if (pi === p.length - 1) return true;
      for (let k = ti; k <= t.length; k++) {
        if (matchWords(p, pi + 1, t, k)) return true;
      }
      return false;
    }
    if (ti >= t.length) return false;
    if (word !== "*" && word !== t[ti]) return false;
    pi++;
    ti++;
  }
  return ti === t.length;
}

/** Join a topic prefix and a topic the way fedora-messaging does (`prefix.rstrip(".") + "." + topic`). */
export function prefixTopic(prefix: string | undefined, topic: string): string {
  if (!prefix) return topic;
  return `${prefix.replace(/\.+$/, "")}.${topic}`;
}

/**
 * Whether a full routing key (with any environment prefix such as
 * `org.fedoraproject.prod.`) carries the given schema topic: the key equals the topic or
 * ends with `.` + topic, wildcards in the schema topic allowed.
 */
export function topicHasSuffix(schemaTopic: string, routingKey: string): boolean {
  return topicMatches(`#.${schemaTopic}`, routingKey);
}
