import { describe, expect, it } from 'vitest';
import { minimizeLbfgs } from '../../../src/model/lbfgs.js';

describe('minimizeLbfgs', () => {
  it('finds the minimum of a convex quadratic', () => {
    // f(x) = Σ (i+1)(x_i - i)², minimum at x_i = i.
    const n = 50;
    const res = minimizeLbfgs(
      (x, g) => {
        let f = 0;
        for (let i = 0; i < n; i++) {
          const d = x[i]! - i;
          f += (i + 1) * d * d;
          g[i] = 2 * (i + 1) * d;
        }
        return f;
      },
      new Float64Array(n),
      { gradientTolerance: 1e-8, functionTolerance: 0 },
    );
    expect(res.converged).toBe(true);
    for (let i = 0; i < n; i++) expect(res.x[i]).toBeCloseTo(i, 5);
  });

  it('minimises the Rosenbrock function', () => {
    const res = minimizeLbfgs(
      (x, g) => {
        const [a, b] = [x[0]!, x[1]!];
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.from([-1.2, 1]),
      { maxIterations: 1000, gradientTolerance: 1e-9, functionTolerance: 0 },
    );
    expect(res.x[0]).toBeCloseTo(1, 4);
    expect(res.x[1]).toBeCloseTo(1, 4);
  });
});
