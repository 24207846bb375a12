// A small seeded random source whose whole state is four 32-bit words (so a search's state can be stored and
// resumed exactly), and the samplers the searches need: uniform, normal, gamma, beta, inverse gamma.

/** xoshiro128** state: four unsigned 32-bit words, never all zero. */
export type RandomState = [number, number, number, number];

/** SplitMix32 spreads a 32-bit seed over the four words, so nearby seeds give unrelated streams. */
export function seedRandom(seed: number): RandomState {
  let x = seed >>> 0;
  const next = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const state: RandomState = [next(), next(), next(), next()];
  if (state.every((w) => w === 0)) state[0] = 1;
  return state;
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** A generator over a state it advances in place (the caller owns and persists the state). */
export class Random {
  constructor(readonly state: RandomState) {}

  static seeded(seed: number): Random {
    return new Random(seedRandom(seed));
  }

  /** Uniform on [0, 1), 32 bits of resolution. */
  next(): number {
    const s = this.state;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal by Box–Muller (both uniforms drawn each call, so the stream has no hidden cache). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Gamma(shape, rate = 1) by Marsaglia and Tsang; shape < 1 through the boost Gamma(a) = Gamma(a + 1)·U^(1/a). */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new RangeError("gamma shape must be positive");
    if (shape < 1) return this.gamma(shape + 1) * (1 - this.next()) ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.next();
      if (u < 1 - 0.0331 * x ** 4) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) as a ratio of gammas. */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x + y === 0 ? 0.5 : x / (x + y);
  }

  /** Inverse gamma with shape a and scale b: 1 / Gamma(a, rate = b). */
  inverseGamma(shape: number, scale: number): number {
    return scale / this.gamma(shape);
  }
}
