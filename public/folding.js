// Letters folded as the server's search folds them (store/folding.py): Arabic yeh and kaf, teh
// marbuta and hamza forms, ZWNJ, tatweel and harakat, Persian and Arabic digits. Either spelling of
// a Persian word then finds the other.
const SAME_LETTER = { 'ي': 'ی', 'ى': 'ی', 'ك': 'ک', 'ة': 'ه', 'ۀ': 'ه', 'أ': 'ا', 'إ': 'ا', 'آ': 'ا', 'ٱ': 'ا' };
const IGNORED = /[\u200c-\u200f\u0640\u0670\u064b-\u065f]/g;

export function fold(text) {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(IGNORED, '')
    .replace(/[\u06f0-\u06f9]/g, (digit) => String(digit.charCodeAt(0) - 0x06f0))
    .replace(/[\u0660-\u0669]/g, (digit) => String(digit.charCodeAt(0) - 0x0660))
    .replace(/[يىكةۀأإآٱ]/g, (letter) => SAME_LETTER[letter]);
}

// The folded words of a text, each once.
export const words = (text) => [...new Set(fold(text).match(/[\p{L}\p{N}]+/gu) ?? [])];
