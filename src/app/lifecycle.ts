import { ErrorCode, FerryError } from '../core/errors.js';

/**
 * What the wiring opened, closed once in reverse order of opening. Every closer runs even when an
 * earlier one fails (a database that will not close must not keep the log unflushed), and every
 * failure is reported: one error is rethrown as it is (its code intact), several as one
 * AggregateError naming what failed.
 */
export class Closers {
  private readonly closers: { name: string; close: () => Promise<void> }[] = [];
  private closing: Promise<void> | undefined;

  /** Registers what was just opened; `name` says what failed to close in the error. */
  add(name: string, close: () => Promise<void> | void): void {
    // A closer added after close() started would never run: what it closes would leak.
    if (this.closing !== undefined) {
      throw new FerryError(ErrorCode.INTERNAL, `${name} was opened after closing started`);
    }
    this.closers.push({ name, close: async () => close() });
  }

  /**
   * Closes everything, last opened first, once: later calls return the first call's promise.
   * Rejects after every closer ran when any failed.
   */
  close(): Promise<void> {
    this.closing ??= this.run();
    return this.closing;
  }

  private async run(): Promise<void> {
    const failed: { name: string; error: unknown }[] = [];
    for (const { name, close } of [...this.closers].reverse()) {
      try {
        await close();
      } catch (error) {
        failed.push({ name, error });
      }
    }
    if (failed.length === 1) throw failed[0]!.error;
    if (failed.length > 1) {
      throw new AggregateError(
        failed.map((f) => f.error),
        `closing failed: ${failed.map((f) => f.name).join(', ')}`,
      );
    }
  }
}
