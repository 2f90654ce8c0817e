const MAX_MESSAGE = 400;

/** Source paths and C++ signatures of the native library: nothing a client can use, and where it was built. */
function withoutNativeDetails(text: string): string {
  return (
    text
      // "/onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:560", "C:\a\b\c.cc:12"
      .replace(/(?:[A-Za-z]:)?[\\/][^\s'"]*[\\/][^\s'"]*/g, '')
      // "void onnxruntime::BroadcastIterator::Append(ptrdiff_t, ptrdiff_t)"
      .replace(/(?:[\w<>*&]+\s+)?[\w:<>~]*::[\w~<>]+\([^)]*\)/g, '')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/**
 * onnxruntime's error text, made fit for a client: the innermost failure of nested
 * "Non-zero status code returned while running If node" messages, with its node (whose name, as
 * PyTorch writes them, "/fc1/Gemm", looks like a path and is kept as it is), no source paths or
 * C++ function names, one line, bounded.
 */
export function ortMessage(e: unknown): string {
  const raw = (e instanceof Error ? e.message : String(e)).slice(0, 4000);
  const nested = [...raw.matchAll(/running (\w+) node\. Name:'([^'\n]{0,200})' Status Message: /g)].at(-1);
  const text =
    nested?.index === undefined
      ? withoutNativeDetails(raw)
      : `${nested[1]} node '${nested[2]}': ${withoutNativeDetails(raw.slice(nested.index + nested[0].length))}`;
  if (text === '') return 'onnxruntime failed without a message';
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}
