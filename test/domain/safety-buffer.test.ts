import { describe, expect, it } from 'vitest';
import { computeAts } from '../../src/domain/ats.js';
import { safetyBufferUnits } from '../../src/domain/safety-buffer.js';
import { testConfig } from '../support/services.js';

const buffers = (raw: Record<string, unknown>) => testConfig({ inventory_sync: { safety_buffers: raw } }).inventory_sync.safety_buffers;

describe('safety buffers', () => {
  describe('static', () => {
    it('holds back the configured units whatever the on-hand', () => {
      const cfg = buffers({ strategy: 'static', static_units: 5 });
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 100 })).toBe(5);
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 0 })).toBe(5);
    });
    it('rounds fractional units up', () => {
      expect(safetyBufferUnits(buffers({ strategy: 'static', static_units: 2.5 }), { sku: 'A', erpOnHand: 10 })).toBe(3);
    });
  });

  describe('dynamic', () => {
    it('is the default: 10% of on-hand', () => {
      expect(safetyBufferUnits(buffers({}), { sku: 'A', erpOnHand: 100 })).toBe(10);
    });
    it('rounds up, and an exact product is not pushed up by floating point (10% of 30 is 3)', () => {
      const cfg = buffers({ strategy: 'dynamic', default_percentage: 10 });
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 30 })).toBe(3);
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 31 })).toBe(4);
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 1 })).toBe(1);
      expect(safetyBufferUnits(buffers({ strategy: 'dynamic', default_percentage: 7 }), { sku: 'A', erpOnHand: 300 })).toBe(21);
    });
    it('is zero for nothing on hand, and a negative on-hand (an ERP oversold) holds nothing back', () => {
      const cfg = buffers({ strategy: 'dynamic', default_percentage: 10 });
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 0 })).toBe(0);
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: -20 })).toBe(0);
    });
  });

  describe('velocity_based', () => {
    const cfg = buffers({ strategy: 'velocity_based', velocity: { window_days: 4, lead_time_days: 7, service_level_z: 1.65 } });
    it('is zero for steady demand (no variability to protect against)', () => {
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 100, dailySales: [3, 3, 3, 3] })).toBe(0);
    });
    it('is z * sigma(daily demand) * sqrt(lead time), rounded up', () => {
      // sales 0,4,0,4: sigma 2; 1.65 * 2 * sqrt(7) = 8.73
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 100, dailySales: [0, 4, 0, 4] })).toBe(9);
    });
    it('counts missing days as no sales and looks only at the last window_days', () => {
      // [4] pads to 0,0,0,4: sigma sqrt(3); 1.65 * 1.732 * 2.6458 = 7.56
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 100, dailySales: [4] })).toBe(8);
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 100, dailySales: [50, 90, 3, 3, 3, 3] })).toBe(0);
      expect(safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 100 })).toBe(0);
    });
    it('grows with the lead time', () => {
      const longLead = buffers({ strategy: 'velocity_based', velocity: { window_days: 4, lead_time_days: 28, service_level_z: 1.65 } });
      expect(safetyBufferUnits(longLead, { sku: 'A', erpOnHand: 100, dailySales: [0, 4, 0, 4] })).toBe(Math.ceil(1.65 * 2 * Math.sqrt(28)));
    });
  });

  describe('per-SKU overrides', () => {
    const cfg = buffers({
      strategy: 'dynamic',
      default_percentage: 10,
      overrides: {
        FRAGILE: { strategy: 'static', units: 7 },
        HOT: { percentage: 25 },
        FIXED: { units: 4 },
        SEASONAL: { strategy: 'velocity_based' },
      },
    });
    it('apply to their SKU only', () => {
      expect(safetyBufferUnits(cfg, { sku: 'FRAGILE', erpOnHand: 100 })).toBe(7);
      expect(safetyBufferUnits(cfg, { sku: 'OTHER', erpOnHand: 100 })).toBe(10);
    });
    it('an override with only a percentage is a dynamic buffer at that percentage', () => {
      expect(safetyBufferUnits(cfg, { sku: 'HOT', erpOnHand: 10 })).toBe(3);
    });
    it('an override with only units is a static buffer of those units, whatever the default strategy', () => {
      expect(safetyBufferUnits(cfg, { sku: 'FIXED', erpOnHand: 1000 })).toBe(4);
    });
    it('an override may switch a SKU to velocity_based', () => {
      expect(safetyBufferUnits(cfg, { sku: 'SEASONAL', erpOnHand: 100, dailySales: Array<number>(28).fill(5) })).toBe(0);
      expect(safetyBufferUnits(cfg, { sku: 'SEASONAL', erpOnHand: 100, dailySales: [...Array<number>(27).fill(0), 28] })).toBeGreaterThan(0);
    });
  });

  describe('ATS', () => {
    it('is never negative, however large the buffer or the claims', () => {
      expect(computeAts({ erpOnHand: 5, wmsAllocated: 0, posPending: 0, openClaims: 0, safetyBuffer: 9 })).toBe(0);
      expect(computeAts({ erpOnHand: 5, wmsAllocated: 4, posPending: 3, openClaims: 2, safetyBuffer: 0 })).toBe(0);
      const cfg = buffers({ strategy: 'static', static_units: 50 });
      expect(computeAts({ erpOnHand: 10, wmsAllocated: 0, posPending: 0, openClaims: 0, safetyBuffer: safetyBufferUnits(cfg, { sku: 'A', erpOnHand: 10 }) })).toBe(0);
    });
    it('subtracts every component once', () => {
      expect(computeAts({ erpOnHand: 100, wmsAllocated: 10, posPending: 5, openClaims: 3, safetyBuffer: 10 })).toBe(72);
    });
  });
});
