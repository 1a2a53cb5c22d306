// Every route the app has, as it was registered: what answers 405 rather than
// 404 for a path that exists under another method, and what a test walks to
// check that no route is public by mistake.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { ApiError } from '../../errors.ts';

export interface RouteEntry {
  method: string;
  url: string;
  /** Left out of the API's description (the UI's files, /docs, /openapi.json, /metrics). */
  hidden: boolean;
}

export class RouteTable {
  private readonly entries: RouteEntry[] = [];
  private readonly router = FindMyWay();

  constructor(app: FastifyInstance) {
    app.addHook('onRoute', (route) => {
      const methods = [route.method].flat() as string[];
      const hidden = Boolean((route.schema as { hide?: boolean } | undefined)?.hide);
      for (const method of methods) {
        this.entries.push({ method, url: route.url, hidden });
        // A wildcard (the UI's files) would make every unknown path a 405 for other methods: it stays out.
        if (!route.url.includes('*')) this.router.on(method as HTTPMethod, route.url, () => {});
      }
    });
  }

  list(): readonly RouteEntry[] {
    return this.entries;
  }

  /** The not-found handler: 405 with Allow when the path has other methods, else 404. */
  notFound(request: FastifyRequest, reply: FastifyReply): never {
    const path = request.url.split('?')[0]!;
    const allowed = [...new Set(this.entries.map((e) => e.method))].filter((m) => m !== request.method && this.router.find(m as HTTPMethod, path));
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      throw new ApiError('method_not_allowed', `${request.method} is not a method of ${path}: it answers ${allowed.join(', ')}.`);
    }
    throw new ApiError('not_found', `No route for ${request.method} ${path}. See /docs for the API.`);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, for the 405 answers and the tests that walk them all. */
    routeTable: RouteTable;
  }
}
