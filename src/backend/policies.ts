/** The replica choice policies a model may use (implemented in balance.ts). A leaf module: it imports nothing. */
export const BALANCING_POLICIES = ['p2c_tokens', 'least_requests', 'round_robin'] as const;
export type BalancingPolicy = (typeof BALANCING_POLICIES)[number];
