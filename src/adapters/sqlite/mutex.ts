/** Runs async critical sections one after another, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    // The chain must survive a failed section, or every later caller would inherit its rejection.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

const mutexesByFile = new Map<string, Mutex>();

/**
 * One mutex per database file, shared by every client of this process that opens it: two
 * clients of one file in one process would otherwise deadlock, the second one blocking the
 * event loop in SQLite's busy handler while the first waits for that same loop to commit.
 */
export function mutexForFile(absolutePath: string): Mutex {
  let mutex = mutexesByFile.get(absolutePath);
  if (mutex === undefined) {
    mutex = new Mutex();
    mutexesByFile.set(absolutePath, mutex);
  }
  return mutex;
}
