// Progress of long steps on stderr (stdout stays the command's output, e.g. its --json line). A
// bar is drawn only for a person at a terminal; logs (CI, pipes, --json) get one plain line per
// step change instead, since a redrawn bar in a log file is a wall of control characters.
import cliProgress from "cli-progress";

/** The stream written to: stderr, or a fake one in tests. `isTTY` decides between bar and lines. */
export interface ProgressStream {
  write(text: string): boolean;
  isTTY?: boolean;
}

export interface ProgressSettings {
  stream: ProgressStream;
  /** The command prints JSON: never a bar. */
  json: boolean;
  /** Running under CI (the entry point reads `CI`): never a bar. */
  ci: boolean;
}

export interface Progress {
  /** Step `n` of the total (1-based) is now `name`; `detail` says what is happening in it. */
  step(n: number, name: string, detail?: string): void;
  /** What is happening in the current step: redrawn on the bar, not printed as a line. */
  detail(detail: string): void;
  /** Run `write`, which writes other output (e.g. to stdout, the same terminal), with the bar out of its way. */
  around(write: () => void): void;
  /** Done: the bar is removed (the command prints its own result); `line` is printed after it when given. */
  stop(line?: string): void;
}

/** The progress of `total` steps, as a bar or as plain lines (see the module comment). */
export function createProgress(total: number, settings: ProgressSettings): Progress {
  const bar = settings.stream.isTTY === true && !settings.json && !settings.ci;
  return bar ? new BarProgress(total, settings.stream) : new LineProgress(total, settings.stream);
}

/** No output at all (a caller that shows its steps otherwise, e.g. the benchmark). */
export const silentProgress: Progress = { step: () => undefined, detail: () => undefined, around: (write) => write(), stop: () => undefined };

class LineProgress implements Progress {
  private current = "";

  constructor(
    private readonly total: number,
    private readonly stream: ProgressStream,
  ) {}

  step(n: number, name: string, detail?: string): void {
    const key = `${n} ${name}`;
    if (key === this.current) return;
    this.current = key;
    this.stream.write(`[${n}/${this.total}] ${name}${detail ? `: ${detail}` : ""}\n`);
  }

  detail(): void {
    // One line per step: details would flood a log.
  }

  around(write: () => void): void {
    write();
  }

  stop(line?: string): void {
    if (line) this.stream.write(`${line}\n`);
  }
}

class BarProgress implements Progress {
  private readonly bar: cliProgress.SingleBar;
  private started = false;
  private value = 0;
  private payload = { name: "", detail: "" };

  constructor(
    private readonly total: number,
    private readonly stream: ProgressStream,
  ) {
    this.bar = new cliProgress.SingleBar(
      {
        // cli-progress writes through its own terminal helper to any stream object.
        stream: stream as NodeJS.WritableStream,
        format: "{bar} {value}/{total} {name}{detail} {duration_formatted}",
        barsize: 20,
        hideCursor: true,
        clearOnComplete: true,
        linewrap: false,
        // Redrawn even when unchanged (`around` may have cleared the line), so not often: the
        // clock shows seconds, and steps and details are drawn at once anyway.
        forceRedraw: true,
        fps: 2,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  private draw(n: number): void {
    this.value = n;
    const payload = { name: this.payload.name, detail: this.payload.detail ? `: ${this.payload.detail}` : "" };
    if (this.started) {
      this.bar.update(n, payload);
      // cli-progress redraws at most every few frames on its own: a step change is shown at once.
      this.bar.render();
    } else {
      this.bar.start(this.total, n, payload);
      this.started = true;
    }
  }

  step(n: number, name: string, detail?: string): void {
    this.payload = { name, detail: detail ?? "" };
    this.draw(n);
  }

  detail(detail: string): void {
    if (!this.started) return;
    this.payload.detail = detail;
    this.draw(this.value);
  }

  around(write: () => void): void {
    if (!this.started) return write();
    this.stream.write("\r\x1b[2K");
    write();
    this.bar.render();
  }

  stop(line?: string): void {
    if (this.started) this.bar.stop();
    this.started = false;
    if (line) this.stream.write(`${line}\n`);
  }
}
