import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible endpoint for browser tests: agents' requests (they
 * carry `tools`) get `stream` as server-sent events, `gapMs` apart; other
 * requests (the review) get a valid review.
 */
export async function serveFakeModel(stream: object[], gapMs: number): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', async () => {
      const json = JSON.parse(body || '{}');
      if (!json.tools) {
        const review = { summary: 'The disk of the host is full.', severity: 'high', category: 'technical', findings: [], questions: [] };
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify(review) }, finish_reason: 'stop' }] }));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const delta of stream) {
        await new Promise((resolve) => setTimeout(resolve, gapMs));
        response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`);
      }
      response.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
