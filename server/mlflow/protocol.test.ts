// MLflow's lenient JSON: Python's bare NaN / Infinity / -Infinity read as their sentinel strings outside JSON strings
// and left alone inside them; junk refused as JSON.parse refuses it, without a character-by-character rewrite.
import { describe, expect, it } from "vitest";
import { AppError } from "../errors";
import { LENIENT_JSON_MAX_CHARS, parseLenientJson } from "./protocol";

const refusal = (text: string) => {
  try {
    parseLenientJson(text);
    return "parsed";
  } catch (err) {
    return err instanceof AppError ? `${err.code}: ${err.message}` : String(err);
  }
};

describe("parseLenientJson", () => {
  it("reads bare NaN, Infinity and -Infinity outside strings, and leaves strings that name them (escapes included) as they are", () => {
    expect(parseLenientJson('{"a": NaN, "b": [Infinity, -Infinity, 1.5], "c": "NaN \\" Infinity, -Infinity", "d": "x\\\\", "e": NaN}'))
      .toEqual({ a: "NaN", b: ["Infinity", "-Infinity", 1.5], c: 'NaN " Infinity, -Infinity', d: "x\\", e: "NaN" });
    expect(parseLenientJson('{"plain": 1}')).toEqual({ plain: 1 });
  });

  it("refuses malformed JSON, with or without the tokens, and bare tokens in a body over the limit with what to send instead", () => {
    expect(refusal("{not json")).toBe("invalid_input: Malformed JSON in the request body.");
    expect(refusal('{"a": NaN,')).toBe("invalid_input: Malformed JSON in the request body.");
    expect(refusal("x".repeat(16 * 1024 * 1024))).toBe("invalid_input: Malformed JSON in the request body.");
    const big = `{"a": NaN, "pad": "${"x".repeat(LENIENT_JSON_MAX_CHARS)}"}`;
    expect(refusal(big)).toMatch(/^invalid_input: Malformed JSON in the request body: bare NaN or Infinity is read only in a body of up to \d+ characters; send such values as the strings "NaN"/);
  });
});
