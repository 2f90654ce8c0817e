/** Rows of a sparse matrix in CSR form: row r spans indices/values [rowStart[r], rowStart[r+1]). */
export interface CsrMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly rowStart: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
}

export interface SparseVector {
  indices: number[];
  values: number[];
}

export function csrFromRows(rows: readonly SparseVector[], cols: number): CsrMatrix {
  const rowStart = new Int32Array(rows.length + 1);
  let nnz = 0;
  rows.forEach((r, i) => {
    nnz += r.indices.length;
    rowStart[i + 1] = nnz;
  });
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  rows.forEach((r, i) => {
    indices.set(r.indices, rowStart[i]!);
    values.set(r.values, rowStart[i]!);
  });
  return { rows: rows.length, cols, rowStart, indices, values };
}
