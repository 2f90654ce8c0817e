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

export function selectRows(m: CsrMatrix, which: readonly number[]): CsrMatrix {
  const rows: SparseVector[] = which.map((r) => {
    const a = m.rowStart[r]!;
    const b = m.rowStart[r + 1]!;
    return { indices: Array.from(m.indices.subarray(a, b)), values: Array.from(m.values.subarray(a, b)) };
  });
  return csrFromRows(rows, m.cols);
}
