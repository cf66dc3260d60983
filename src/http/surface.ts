// Each route names the front end it belongs to; the one error handler formats errors for it.
export type Surface = 'oauth' | 'ops' | 'flows' | 'page';

declare module 'fastify' {
  interface FastifyContextConfig {
    surface?: Surface;
  }
}
