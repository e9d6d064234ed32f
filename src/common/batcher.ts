/**
 * Groups calls that arrive while an earlier group is being handled, and handles each group in one
 * go (one transaction for many claims, outcomes or events). One group at a time: on SQLite
 * transactions queue anyway, and on PostgreSQL fewer, larger groups measured faster than several
 * in parallel. With `gather`, a call that finds the batcher idle waits until the event loop has
 * taken in the rest of what already arrived (such as other HTTP requests), so those join it; with
 * `gatherMs`, it waits that long, for calls that arrive spread out and need no quick answer.
 */
export class Batcher<In, Out> {
  private waiting: { input: In; done: (out: Out) => void; fail: (error: unknown) => void }[] = [];
  private busy = false;
  private gathering = false;

  constructor(
    private readonly handle: (inputs: In[]) => Promise<Out[]>,
    private readonly options: { gather?: boolean; gatherMs?: number } = {},
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise<Out>((done, fail) => {
      this.waiting.push({ input, done, fail });
      const { gather, gatherMs } = this.options;
      if (!(gather || gatherMs) || this.busy) this.pump();
      else if (!this.gathering) {
        this.gathering = true;
        const gathered = () => {
          this.gathering = false;
          this.pump();
        };
        if (gatherMs) setTimeout(gathered, gatherMs);
        else setImmediate(gathered);
      }
    });
  }

  private pump(): void {
    if (this.busy || this.gathering || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0);
    this.busy = true;
    this.handle(batch.map((entry) => entry.input))
      .then(
        (outs) => batch.forEach((entry, i) => entry.done(outs[i])),
        (error: unknown) => batch.forEach((entry) => entry.fail(error)),
      )
      .finally(() => {
        this.busy = false;
        this.pump();
      });
  }
}
