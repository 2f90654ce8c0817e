/** Previous / next over a list the API pages with `limit` and `offset`. */
export function Pager({
  offset,
  limit,
  total,
  count,
  onPage,
  label,
}: {
  offset: number;
  limit: number;
  /** Total items when the API says; otherwise "next" is offered while a page comes back full. */
  total?: number | undefined;
  /** Items on this page. */
  count: number;
  onPage: (offset: number) => void;
  label: string;
}) {
  const hasNext = total !== undefined ? offset + count < total : count === limit;
  if (offset === 0 && !hasNext) return null;
  const first = count === 0 ? 0 : offset + 1;
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={offset === 0} onClick={() => onPage(Math.max(0, offset - limit))}>
        ← Previous
      </button>
      <span aria-live="polite">
        {first}–{offset + count}
        {total !== undefined ? ` of ${total}` : ''}
      </span>
      <button type="button" disabled={!hasNext} onClick={() => onPage(offset + limit)}>
        Next →
      </button>
    </nav>
  );
}
