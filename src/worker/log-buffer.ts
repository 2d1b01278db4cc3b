// Log lines from a worker, batched so a busy worker sends the primary a few messages a second
// rather than one per query. The primary writes them to stdout.
const MAX_PENDING = 256;

export class LogBuffer {
  private lines: string[] = [];
  private scheduled = false;
  private readonly sink: (text: string) => void;

  constructor(sink: (text: string) => void) {
    this.sink = sink;
  }

  write(line: string): void {
    this.lines.push(line);
    if (this.lines.length >= MAX_PENDING) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const text = this.lines.join('\n') + '\n';
    this.lines = [];
    this.sink(text);
  }
}
