// GET /v1/realtime: OpenAI's Realtime API, transcription sessions, over a
// WebSocket. The upgrade request goes through every hook an HTTP request does
// (API key, rate limit), so a refused one gets its HTTP error before any
// WebSocket exists; the session limit is told inside the socket, as OpenAI
// does, with close code 1013 (try again later).
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import Type from 'typebox';
import type { Config } from '../config.ts';
import type { Dispatch } from '../dispatch/types.ts';
import type { JobService } from '../jobs/service.ts';
import { ApiError } from '../errors.ts';
import { ErrorBody } from '../http/route-responses.ts';
import { MAX_APPEND_BYTES } from './audio.ts';
import { RealtimeError } from './errors.ts';
import { RealtimeSession } from './session.ts';
import { owned } from '../owned.ts';

// The largest append as base64 (4/3) in its JSON event, with room to spare, so that an append somewhat
// over the limit gets its audio_too_large error; a message over this closes the socket (1009).
const MAX_MESSAGE_BYTES = Math.ceil((MAX_APPEND_BYTES * 4) / 3) + (4 << 20);

const RealtimeQuery = Type.Object({
  intent: Type.Optional(Type.Literal('transcription', { description: 'The only kind of session this server runs.' })),
  model: Type.Optional(Type.String({ description: 'What the official SDKs send: a transcription model names the session\'s model; any other name is ignored.' })),
});

/**
 * The WebSocket plugin, registered before the API keys' hook: its own onRequest
 * hook marks upgrade requests, so that an upgrade refused by a later hook (a
 * 401) has its socket closed after the answer instead of left open.
 */
export async function registerWebSockets(app: FastifyInstance): Promise<void> {
  await app.register(websocket, {
    options: {
      maxPayload: MAX_MESSAGE_BYTES,
      // Browsers offer `realtime` beside the key subprotocol and fail the handshake unless one offered is answered.
      handleProtocols: (offered: Set<string>) => (offered.has('realtime') ? 'realtime' : ([...offered].find((p) => !p.startsWith('openai-insecure-api-key.')) ?? false)),
    },
  });
}

export function realtimeRoutes(app: FastifyInstance, config: Config, dispatch: Dispatch, service: JobService): void {
  const sessions = new Map<WebSocket, { session: RealtimeSession; log: FastifyBaseLogger; owner: string | null }>();
  const openBy = (owner: string) => [...sessions.values()].filter((s) => s.owner === owner).length;
  const ends = new Set<Promise<void>>();

  const endSession = (socket: WebSocket): void => {
    const open = sessions.get(socket);
    if (!open) return;
    sessions.delete(socket);
    const ended = open.session.end().then((outcome) => {
      app.realtimeMetrics.closed(outcome);
      open.log.info({ outcome, seconds: (Date.now() - open.session.startedAt) / 1000 }, 'realtime session ended');
    });
    ends.add(ended);
    owned(open.log, 'ending a realtime session', ended.finally(() => ends.delete(ended)));
  };

  app.route({
    method: 'GET',
    url: '/v1/realtime',
    config: { keyInQuery: true }, // a browser's WebSocket sends no headers (the subprotocol is the other way)
    schema: {
      tags: ['openai'],
      summary: 'Realtime transcription (OpenAI Realtime API, transcription sessions): a WebSocket; see docs/api.md',
      querystring: RealtimeQuery,
      response: { 401: ErrorBody, 403: ErrorBody, 426: ErrorBody, 503: ErrorBody },
    },
    preHandler: async (request) => {
      checkOrigin(request, config);
      if (service.draining) throw new ApiError('shutting_down', 'The gateway is shutting down: open the session again in a few seconds.');
      service.checkStorage();
    },
    handler: async () => {
      throw new ApiError('upgrade_required', 'GET /v1/realtime is a WebSocket: connect with a WebSocket client (Upgrade: websocket), e.g. ws://host:8080/v1/realtime?intent=transcription.');
    },
    wsHandler: (socket: WebSocket, request: FastifyRequest) => {
      const send = (event: Record<string, unknown>) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ event_id: `event_${randomBytes(12).toString('base64url')}`, ...event }));
      };
      const refusal = sessions.size >= config.realtimeMaxSessions
        ? (config.realtimeMaxSessions === 0
          ? 'Realtime sessions are turned off on this server (REALTIME_MAX_SESSIONS=0).'
          : `This server has ${config.realtimeMaxSessions} realtime sessions open, the most it allows (REALTIME_MAX_SESSIONS): try again later.`)
        // One key must not take every session of the server.
        : request.owner !== null && openBy(request.owner) >= config.realtimeMaxSessionsPerKey
          ? `The key '${request.owner}' has ${config.realtimeMaxSessionsPerKey} realtime sessions open, the most one key may (REALTIME_MAX_SESSIONS_PER_KEY): close one, or try again later.`
          : null;
      if (refusal) {
        app.realtimeMetrics.refused();
        send(new RealtimeError('session_limit_reached', refusal, null, null, 'server_error').event());
        socket.close(1013, 'session limit reached');
        return;
      }
      const session = new RealtimeSession({
        id: request.id, config, knownModels: () => dispatch.directory.modelNames(), streams: dispatch.streams, send, log: request.log,
        close: (code, reason) => socket.close(code, reason),
        store: async (result, { language, audioBytes, startedAt }) => {
          const job = {
            model: result.model, options: { language, task: 'transcribe' as const }, filename: liveFilename(startedAt), audio_bytes: audioBytes,
            callback_url: null, source: 'realtime' as const, owner: request.owner,
          };
          await service.recordFinished(request.id, job, { status: 'succeeded', result }, startedAt);
        },
      }, (request.query as { model?: string }).model);
      sessions.set(socket, { session, log: request.log, owner: request.owner });
      app.realtimeMetrics.opened();
      request.log.info({ session: request.id, owner: request.owner }, 'realtime session opened');
      socket.on('message', (data, isBinary) => {
        if (isBinary) return send(new RealtimeError('invalid_json', 'Binary messages are not events: send each event as JSON in a text message (audio as base64 in input_audio_buffer.append).').event());
        try {
          session.receive(data.toString());
        } catch (err) {
          // A fault of the gateway's own: this event fails, not the process with every other session.
          request.log.error({ err }, 'a realtime event failed');
          send(new RealtimeError('internal', 'Something went wrong in the gateway; its log has the details.').event());
        }
      });
      socket.on('close', () => endSession(socket));
      session.start();
    },
  });

  // Before the store closes: every session is ended and stored, its client told the server is going away.
  app.addHook('preClose', async () => {
    for (const socket of [...sessions.keys()]) {
      socket.close(1001, 'the gateway is shutting down');
      endSession(socket);
    }
    await Promise.all(ends);
  });
}

/**
 * A browser's WebSocket is not bound by CORS: without this check any page a
 * user visits could use the service through their browser. Same origin, or
 * one CORS_ORIGINS lists; a client that is not a browser sends no Origin.
 */
function checkOrigin(request: FastifyRequest, config: Config): void {
  const origin = request.headers.origin;
  if (!origin) return;
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    // not a URL: refused below
  }
  if (host !== null && (host === request.headers.host || config.corsOrigins.includes(origin))) return;
  throw new ApiError('forbidden_origin', `The origin ${origin} may not open realtime sessions here: list it in CORS_ORIGINS.`);
}

/** What the stored session's downloads are called: when it began, in UTC, with no character a file system refuses. */
export function liveFilename(startedAt: number): string {
  return `live-captions-${new Date(startedAt).toISOString().slice(0, 16).replace(/[T:]/g, '-')}`;
}
