export type ShopifyPlan = 'standard' | 'advanced' | 'plus' | 'enterprise';

export interface PlanLimits {
  restoreRate: number;
  maximumAvailable: number;
}

/**
 * Restore rates are Shopify's published figures. Bucket sizes are only documented for some plans (2000 has been
 * seen with restoreRate 100), so the maximums here are the emulator's choice.
 */
export const PLAN_LIMITS: Readonly<Record<ShopifyPlan, PlanLimits>> = {
  standard: { restoreRate: 100, maximumAvailable: 2000 },
  advanced: { restoreRate: 200, maximumAvailable: 2000 },
  plus: { restoreRate: 1000, maximumAvailable: 10000 },
  enterprise: { restoreRate: 2000, maximumAvailable: 20000 },
};

export const PLANS = Object.keys(PLAN_LIMITS) as ShopifyPlan[];
