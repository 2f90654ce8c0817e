const MAX_MESSAGE = 400;

/**
 * onnxruntime's error text, made fit for a client: the innermost failure of nested
 * "Non-zero status code returned while running If node" messages (with its node), no source
 * paths or C++ function names of the native library, one line, bounded.
 */
export function ortMessage(e: unknown): string {
  let text = (e instanceof Error ? e.message : String(e)).slice(0, 4000);
  const nested = [...text.matchAll(/running (\w+) node\. Name:'([^']*)' Status Message: /g)].at(-1);
  if (nested?.index !== undefined) {
    text = `${nested[1]} node '${nested[2]}': ${text.slice(nested.index + nested[0].length)}`;
  }
  text = text
    // "/onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:560", "C:\\a\\b.cc(12)"
    .replace(/(?:[A-Za-z]:)?[\\/][^\s'"]*[\\/][^\s'"]*/g, '')
    // "void onnxruntime::BroadcastIterator::Append(ptrdiff_t, ptrdiff_t)"
    .replace(/(?:[\w<>*&]+\s+)?[\w:<>~]*::[\w~<>]+\([^)]*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return 'onnxruntime failed without a message';
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}
