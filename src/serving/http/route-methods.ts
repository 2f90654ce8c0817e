import type { FastifyInstance } from 'fastify';

interface RoutePattern {
  regex: RegExp;
  methods: Set<string>;
}

/** find-my-way's path syntax (`:param`, `*`) as a regular expression; a trailing slash is ignored. */
function compile(url: string): RegExp {
  const body = url
    .replace(/\/+$/, '')
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':')) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\*/g, '.*');
    })
    .join('/');
  return new RegExp(`^${body}/?$`);
}

/**
 * Which methods each path is served with, learned from the routes as they are added (an onRoute
 * hook, so register this before the routes). The not-found handler asks it to answer 405 with
 * `Allow` for a path that exists with other methods, and CORS preflights ask which methods to allow.
 */
export class RouteMethods {
  private readonly patterns = new Map<string, RoutePattern>();

  constructor(app: FastifyInstance) {
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      let pattern = this.patterns.get(route.url);
      if (!pattern) {
        pattern = { regex: compile(route.url), methods: new Set() };
        this.patterns.set(route.url, pattern);
      }
      for (const m of methods) pattern.methods.add(m.toUpperCase());
    });
  }

  /** The methods `path` (no query string) is served with, sorted; empty when no route matches it. */
  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const { regex, methods } of this.patterns.values()) {
      if (regex.test(path)) for (const m of methods) out.add(m);
    }
    return [...out].sort();
  }
}
