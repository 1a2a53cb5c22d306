// The model names the workers accept (protocol §5), checked here so a typo
// gets a 400 at once instead of a trip through the queue.
export const MODEL_NAMES = [
  'tiny', 'tiny.en', 'base', 'base.en', 'small', 'small.en', 'medium', 'medium.en',
  'large', 'large-v1', 'large-v2', 'large-v3', 'turbo', 'large-v3-turbo',
  'distil-small.en', 'distil-medium.en', 'distil-large-v2', 'distil-large-v3', 'distil-large-v3.5',
] as const;

export function isModelName(name: string): boolean {
  return (MODEL_NAMES as readonly string[]).includes(name);
}
