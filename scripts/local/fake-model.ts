// A fake streaming chat model for the local stack: what `npm run demo:stream` and the tests of
// docs/examples/streaming-chat.ts stream instead of a vendor's API. It yields a reply word by
// word, then the tokens it "used" (as providers report usage at the end), and can break midway
// like a dropped connection.
import type { ChatEvent, ChatMessage, StreamChat } from "../../docs/examples/streaming-chat.ts";

export type FakeModelOptions = {
  /** The reply (default: a sentence about the prompt). */
  reply?: string;
  /** Milliseconds between words (default 0). */
  delayMs?: number;
  /** Throw after this many words, before reporting usage (a dropped stream). */
  failAfterWords?: number;
  /** The usage to report; default: prompt characters / 4 + 2 tokens per word. */
  totalTokens?: number;
  /** Report no usage at all (some providers only count on request). */
  omitUsage?: boolean;
};

export function fakeModel(options: FakeModelOptions = {}): StreamChat {
  return async function* (messages: ChatMessage[], { signal }): AsyncIterable<ChatEvent> {
    const prompt = messages.map((m) => m.content).join("\n");
    const reply = options.reply ??
      `You said ${prompt.split(/\s+/).length} words; here is a short answer to them.`;
    const words = reply.split(" ");
    for (const [i, word] of words.entries()) {
      if (options.failAfterWords !== undefined && i === options.failAfterWords) {
        throw new Error(`fake model: the stream broke after ${i} words`);
      }
      signal.throwIfAborted();
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      yield { type: "delta", text: i === 0 ? word : ` ${word}` };
    }
    if (!options.omitUsage) {
      yield {
        type: "usage",
        totalTokens: options.totalTokens ?? Math.ceil(prompt.length / 4) + 2 * words.length,
      };
    }
  };
}
