// Pure text statistics, shared by the page (app.js) and the tests.

/** Words: runs of letters, digits, apostrophes or hyphens. */
export function countWords(text) {
  return (String(text).match(/[\p{L}\p{N}'’-]+/gu) ?? []).filter((w) => /[\p{L}\p{N}]/u.test(w))
    .length;
}

/** Characters as a person counts them (user-perceived, so "é" or an emoji is one). */
export function countCharacters(text) {
  return Array.from(String(text)).length;
}

/** Sentences: text ending in ., ! or ? (or the end of the text). */
export function countSentences(text) {
  return String(text)
    .split(/[.!?]+/)
    .filter((s) => /[\p{L}\p{N}]/u.test(s)).length;
}

/** Whole minutes to read `words` at `wordsPerMinute`, rounded up; 0 for no words. */
export function readingMinutes(words, wordsPerMinute = 200) {
  if (!(wordsPerMinute > 0)) throw new RangeError('wordsPerMinute must be positive');
  return Math.ceil(words / wordsPerMinute);
}

/** All statistics for `text`. */
export function stats(text) {
  const words = countWords(text);
  return {
    words,
    characters: countCharacters(text),
    sentences: countSentences(text),
    readingMinutes: readingMinutes(words),
  };
}
