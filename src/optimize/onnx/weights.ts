import onnx from 'onnx-proto';
import {
  DataType,
  dimsOf,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  toNumber,
  unsupported,
} from './onnx-model.js';

/*
 * Which initializers are weights the optimizer may change: FLOAT initializers used only as the B
 * input of MatMul or Gemm or the W input of Conv (in the main graph or a subgraph), and not overridable (not also a graph input,
 * which a caller could feed). Each weight comes with its output-channel axis, for per-axis scales.
 */

export interface Weight {
  tensor: TensorProto;
  name: string;
  dims: number[];
  /** The output-channel axis when every use agrees on one; null: one scale for the whole tensor. */
  axis: number | null;
}

const GRAPH_ATTRIBUTE = onnx.onnx.AttributeProto.AttributeType.GRAPH;
const GRAPHS_ATTRIBUTE = onnx.onnx.AttributeProto.AttributeType.GRAPHS;
/** Deeper subgraph nesting than this is not walked; such a model is refused. */
const MAX_DEPTH = 32;

function intAttr(n: NodeProto, name: string): number | undefined {
  const a = (n.attribute ?? []).find((x) => x.name === name);
  return a ? toNumber(a.i) : undefined;
}

/** The axis a weight use implies: the output channel of the op's weight, or 'other' for any other use. */
function useOf(n: NodeProto, position: number, rank: number): Use {
  const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
  if (op === 'MatMul' && position === 1) return rank >= 2 ? rank - 1 : null;
  if (op === 'Gemm' && position === 1 && rank === 2) return intAttr(n, 'transB') === 1 ? 0 : 1;
  if (op === 'Conv' && position === 1 && rank >= 3) return 0;
  return 'other';
}

type Use = number | null | 'other';

/**
 * Records every use of the main graph's initializers, in the main graph and in subgraphs (If/Loop/
 * Scan bodies read outer values by name, so a weight produced by a node under its old name still
 * reaches them). A name a subgraph declares again (shadowing, which ONNX forbids) marks it 'other'.
 */
function collectUses(
  nodes: readonly NodeProto[],
  initializers: ReadonlyMap<string, TensorProto>,
  uses: Map<string, Use[]>,
  depth: number,
): void {
  if (depth > MAX_DEPTH) throw unsupported(`the ONNX graph nests subgraphs deeper than ${MAX_DEPTH} levels`);
  const record = (name: string, use: Use) => {
    if (!initializers.has(name)) return;
    const list = uses.get(name) ?? [];
    list.push(use);
    uses.set(name, list);
  };
  for (const n of nodes) {
    (n.input ?? []).forEach((name, position) => {
      const t = initializers.get(name);
      if (t) record(name, useOf(n, position, (t.dims ?? []).length));
    });
    for (const a of n.attribute ?? []) {
      const graphs: GraphProto[] =
        a.type === GRAPH_ATTRIBUTE && a.g ? [a.g] : a.type === GRAPHS_ATTRIBUTE ? (a.graphs ?? []) : [];
      for (const g of graphs) {
        for (const t of g.initializer ?? []) record(t.name ?? '', 'other');
        for (const v of g.input ?? []) record(v.name ?? '', 'other');
        for (const inner of g.node ?? []) for (const o of inner.output ?? []) record(o, 'other');
        collectUses(g.node ?? [], initializers, uses, depth + 1);
      }
    }
  }
}

export interface WeightScan {
  weights: Weight[];
  /** FLOAT initializers that are not weights, by reason (for the details). */
  skipped: Record<string, number>;
}

export function scanWeights(graph: GraphProto): WeightScan {
  const initializers = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) if (t.name) initializers.set(t.name, t);
  const uses = new Map<string, Use[]>();
  collectUses(graph.node ?? [], initializers, uses, 0);
  const graphInputs = new Set((graph.input ?? []).map((v) => v.name ?? ''));
  const weights: Weight[] = [];
  const skipped: Record<string, number> = {};
  const skip = (reason: string) => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  for (const [name, t] of initializers) {
    if (t.dataType !== DataType.FLOAT) continue;
    const list = uses.get(name) ?? [];
    if (graphInputs.has(name)) skip('also a graph input (overridable)');
    else if (list.length === 0 || list.includes('other'))
      skip('not only a MatMul/Gemm/Conv weight (a bias, a constant...)');
    else {
      const axes = new Set(list);
      const axis = axes.size === 1 ? (list[0] as number | null) : null;
      weights.push({ tensor: t, name, dims: dimsOf(t), axis });
    }
  }
  return { weights, skipped };
}
