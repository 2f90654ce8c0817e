/*
 * FNV-1a's 32-bit prime and the offset bases of Ferry's two feature families: word features
 * (the tokenizer's scan folds each word's hash with WORD_BASIS) and character n-grams (CHAR_BASIS).
 * Artifacts store hashes made with them: never change these values.
 */
export const FNV_PRIME = 0x01000193;
export const WORD_BASIS = 0x811c9dc5;
export const CHAR_BASIS = 0x050c5d1f;
