/**
 * An asynchronous resource opened on its first use and shared by every later caller (a store whose
 * tables are made on first read, a connection). A failed opening is not kept: the next call tries
 * again, so a database that was down when first asked does not fail every call after it is back.
 */
export interface OnFirstUse<T> {
  /** The resource, opened now if no opening is under way or done. */
  get(): Promise<T>;
  /** The opening under way or done, if any, forgotten (for closing it); the next get() opens anew. */
  take(): Promise<T> | undefined;
}

export function onFirstUse<T>(open: () => Promise<T>): OnFirstUse<T> {
  let opened: Promise<T> | undefined;
  return {
    get() {
      if (opened === undefined) {
        const attempt: Promise<T> = open().catch((e: unknown) => {
          if (opened === attempt) opened = undefined;
          throw e;
        });
        opened = attempt;
      }
      return opened;
    },
    take() {
      const t = opened;
      opened = undefined;
      return t;
    },
  };
}
