// Wires the page to the statistics in stats.js.
import { stats } from './stats.js';

const input = document.getElementById('text');
const show = (id, value) => {
  document.getElementById(id).textContent = String(value);
};

function update() {
  const s = stats(input.value);
  show('words', s.words);
  show('characters', s.characters);
  show('sentences', s.sentences);
  show('reading', `${s.readingMinutes} min`);
}

input.addEventListener('input', update);
update();
