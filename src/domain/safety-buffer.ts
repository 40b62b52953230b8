export type SafetyBufferStrategy = 'static' | 'dynamic' | 'velocity_based';

/** The safety-buffer settings (`inventory_sync.safety_buffers`; the configuration schema checks and defaults them). */
export interface SafetyBufferSettings {
  strategy: SafetyBufferStrategy;
  default_percentage: number;
  static_units: number;
  velocity: { window_days: number; lead_time_days: number; service_level_z: number };
  /** Per-SKU overrides, keyed by SKU. */
  overrides: Record<string, { strategy?: SafetyBufferStrategy | undefined; units?: number | undefined; percentage?: number | undefined }>;
}

export interface BufferInputs {
  sku: string;
  erpOnHand: number;
  /** Units sold per day over the velocity window, oldest first; missing days count as 0. */
  dailySales?: number[];
}

/** Population standard deviation; 0 for fewer than two samples. */
function stddev(xs: number[]): number {
  if (xs.length < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length);
}

/** The strategy that applies to a SKU: its override's, else the default. */
export function bufferStrategyOf(cfg: SafetyBufferSettings, sku: string): SafetyBufferStrategy {
  const override = cfg.overrides[sku];
  // An override that names only units (or only a percentage) means that strategy for this SKU: `{ units: 5 }`
  // under a dynamic default must hold back 5, not be silently ignored.
  return override?.strategy ?? (override?.units !== undefined ? 'static' : override?.percentage !== undefined ? 'dynamic' : cfg.strategy);
}

/** How a buffer was derived, for `explain`: the strategy, where it came from, and the arithmetic in words. */
export interface BufferDerivation {
  units: number;
  strategy: SafetyBufferStrategy;
  /** `override` when safety_buffers.overrides names the SKU, else `default`. */
  from: 'override' | 'default';
  rule: string;
}

export function explainSafetyBuffer(cfg: SafetyBufferSettings, input: BufferInputs): BufferDerivation {
  const override = cfg.overrides[input.sku];
  const strategy = bufferStrategyOf(cfg, input.sku);
  const units = safetyBufferUnits(cfg, input);
  const from = override ? 'override' : 'default';
  const onHand = Math.max(0, input.erpOnHand);
  let rule: string;
  switch (strategy) {
    case 'static':
      rule = `static: ${override?.units ?? cfg.static_units} units`;
      break;
    case 'dynamic': {
      const pct = override?.percentage ?? cfg.default_percentage;
      rule = `dynamic: ceil(${pct}% of on-hand ${onHand}) = ${units}`;
      break;
    }
    case 'velocity_based': {
      if (override?.units !== undefined) {
        rule = `velocity_based, fixed by override: ${override.units} units`;
        break;
      }
      const v = cfg.velocity;
      const sales = (input.dailySales ?? []).slice(-v.window_days);
      const sold = sales.reduce((a, b) => a + b, 0);
      const sigma = stddev([...Array<number>(Math.max(0, v.window_days - sales.length)).fill(0), ...sales]);
      rule = `velocity_based: ceil(z ${v.service_level_z} x sigma ${sigma.toFixed(2)}/day x sqrt(lead time ${v.lead_time_days} d)) = ${units}; ${sold} sold in ${v.window_days} d`;
      break;
    }
  }
  return { units, strategy, from, rule };
}

/**
 * Units held back from sale. `dynamic` is a percentage of on-hand rounded up; `velocity_based` is the classic
 * safety-stock term z * sigma(daily demand) * sqrt(lead time days), rounded up. Never negative; the ATS formula
 * clamps at zero so a buffer never makes ATS negative.
 */
export function safetyBufferUnits(cfg: SafetyBufferSettings, input: BufferInputs): number {
  const override = cfg.overrides[input.sku];
  const strategy = bufferStrategyOf(cfg, input.sku);
  const onHand = Math.max(0, input.erpOnHand);
  switch (strategy) {
    case 'static':
      return Math.max(0, Math.ceil(override?.units ?? cfg.static_units));
    case 'dynamic': {
      const pct = override?.percentage ?? cfg.default_percentage;
      // Round the product in integer hundredths first so 10% of 30 is 3, not 3.0000000000000004 -> 4.
      return Math.ceil(Math.round(onHand * pct * 100) / 10000);
    }
    case 'velocity_based': {
      if (override?.units !== undefined) return Math.ceil(override.units);
      const window = cfg.velocity.window_days;
      const sales = (input.dailySales ?? []).slice(-window);
      const padded = [...Array<number>(Math.max(0, window - sales.length)).fill(0), ...sales];
      return Math.max(0, Math.ceil(cfg.velocity.service_level_z * stddev(padded) * Math.sqrt(cfg.velocity.lead_time_days)));
    }
  }
}
