declare module 'murmurhash3js-revisited' {
  interface X86 {
    hash32(bytes: ArrayLike<number>, seed?: number): number;
  }
  const murmur: { x86: X86; inputValidation: boolean };
  export default murmur;
}
