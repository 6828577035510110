import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import type {
  AppControllerRoute,
  AppViewRoute,
  BullBoardQueues,
  ControllerHandlerReturnType,
  IServerAdapter,
  UIConfig,
} from '@bull-board/api/typings/app';
import type { FastifyPluginAsync } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * bull-board's server side for fastify, written here rather than taken from @bull-board/fastify:
 * that package pulls @fastify/static 10, whose content-disposition 3 is ESM-only, which Node 20
 * before 20.19 cannot require and jest on Node 20 cannot load. The UI needs three things: its
 * page (an EJS template using only `<%= %>` and `<%- %>`), its static files and the JSON API.
 */
export class BoardAdapter implements IServerAdapter {
  private queues: BullBoardQueues | null = null;
  private viewPath = '';
  private statics: { route: string; path: string } | null = null;
  private entry: AppViewRoute | null = null;
  private errorHandler: ((error: Error) => ControllerHandlerReturnType) | null = null;
  private apiRoutes: AppControllerRoute[] = [];
  private uiConfig: UIConfig = {};

  constructor(private readonly basePath: string) {}

  setQueues(queues: BullBoardQueues): this {
    this.queues = queues;
    return this;
  }
  setViewsPath(viewPath: string): this {
    this.viewPath = viewPath;
    return this;
  }
  setStaticPath(route: string, path: string): this {
    this.statics = { route, path: resolve(path) };
    return this;
  }
  setEntryRoute(route: AppViewRoute): this {
    this.entry = route;
    return this;
  }
  setErrorHandler(handler: (error: Error) => ControllerHandlerReturnType): this {
    this.errorHandler = handler;
    return this;
  }
  setApiRoutes(routes: AppControllerRoute[]): this {
    this.apiRoutes = routes;
    return this;
  }
  setUIConfig(config: UIConfig = {}): this {
    this.uiConfig = config;
    return this;
  }

  /** Routes relative to the prefix the plugin is registered under (the board's base path). */
  plugin(): FastifyPluginAsync {
    const { queues, statics, entry, errorHandler } = this;
    if (!queues || !statics || !entry || !errorHandler || !this.viewPath) throw new Error('createBullBoard() must configure the adapter first');
    const view = entry.handler({ basePath: this.basePath, uiConfig: this.uiConfig });
    const page = render(readFileSync(join(this.viewPath, view.name), 'utf8'), view.params);

    return async (scope) => {
      for (const url of ([] as string[]).concat(entry.route)) {
        scope.route({ method: 'GET', url, handler: async (_request, reply) => reply.type('text/html; charset=utf-8').send(page) });
      }
      scope.get(`${statics.route}/*`, async (request, reply) => {
        const wanted = (request.params as { '*': string })['*'];
        const file = resolve(statics.path, wanted);
        const type = CONTENT_TYPES[extname(file)];
        // Only files inside the UI's static folder, of the kinds the UI ships.
        if (!file.startsWith(statics.path + sep) || !type) return reply.code(404).send();
        const body = await readFile(file).catch(() => null);
        if (!body) return reply.code(404).send();
        return reply.type(type).header('cache-control', 'public, max-age=86400').send(body);
      });
      for (const route of this.apiRoutes) {
        const methods = ([] as string[]).concat(route.method).map((m) => m.toUpperCase() as 'GET');
        for (const url of ([] as string[]).concat(route.route)) {
          scope.route({
            method: methods,
            url,
            handler: async (request, reply) => {
              const response = await route.handler({
                queues,
                uiConfig: this.uiConfig,
                params: request.params as Record<string, string>,
                query: request.query as Record<string, string>,
                body: request.body as Record<string, unknown>,
                headers: request.headers as Record<string, string>,
              });
              return reply.code(response.status ?? 200).send(response.body);
            },
          });
        }
      }
      scope.setErrorHandler((error: Error, request, reply) => {
        request.log.warn({ err: { name: error.name, message: error.message } }, 'queue dashboard request failed');
        const response = errorHandler(error);
        return reply.code(response.status ?? 500).send(response.body);
      });
    };
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `<%= name %>` escaped, `<%- name %>` raw (bull-board escapes its JSON itself); nothing else. */
export function render(template: string, params: Record<string, unknown>): string {
  const html = template.replace(/<%([=-])\s*([A-Za-z_]\w*)\s*%>/g, (_m, kind: string, name: string) => {
    const value = String(params[name] ?? '');
    return kind === '-' ? value : value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
  });
  if (html.includes('<%')) throw new Error('bull-board template uses EJS features this adapter does not render');
  return html;
}
