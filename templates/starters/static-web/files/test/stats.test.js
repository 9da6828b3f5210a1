import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { countCharacters, countSentences, countWords, readingMinutes, stats } from '../stats.js';

describe('countWords', () => {
  it('counts words separated by any whitespace', () => {
    assert.equal(countWords('one two\tthree\nfour'), 4);
  });
  it('ignores punctuation and keeps contractions and hyphens whole', () => {
    assert.equal(countWords("Don't stop -- well-known, right?"), 4);
  });
  it('is zero for empty or blank text', () => {
    assert.equal(countWords(''), 0);
    assert.equal(countWords('  \n '), 0);
  });
  it('counts non-Latin words', () => {
    assert.equal(countWords('привет мир'), 2);
  });
});

describe('countCharacters', () => {
  it('counts an emoji as one character', () => {
    assert.equal(countCharacters('a😀b'), 3);
  });
});

describe('countSentences', () => {
  it('splits on sentence punctuation', () => {
    assert.equal(countSentences('Hi. How are you? Fine!'), 3);
    assert.equal(countSentences('No ending punctuation'), 1);
    assert.equal(countSentences('...'), 0);
  });
});

describe('readingMinutes', () => {
  it('rounds up and is zero for nothing', () => {
    assert.equal(readingMinutes(0), 0);
    assert.equal(readingMinutes(1), 1);
    assert.equal(readingMinutes(401), 3);
  });
  it('rejects a non-positive speed', () => {
    assert.throws(() => readingMinutes(10, 0), RangeError);
  });
});

describe('stats', () => {
  it('combines everything', () => {
    assert.deepEqual(stats('Hello world. Bye!'), {
      words: 3,
      characters: 17,
      sentences: 2,
      readingMinutes: 1,
    });
  });
});
