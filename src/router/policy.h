/* policy.h - the routing decision apart from the models: given a step's
 * signal (H_init, a glimpse maximum, H_step, PPL or a SpecReason score), who
 * writes the step, and the threshold in force. Pure and seeded, so it is
 * tested on synthetic signal streams. */
#ifndef GLIMP_ROUTER_POLICY_H
#define GLIMP_ROUTER_POLICY_H

#include "glimp.h"

struct rt_policy;

/* From the router params: policy, tau, share, instance_k, instance_z,
 * specreason_threshold, seed. GLIMP_ERR_INVALID naming a parameter out of
 * range (share outside [0, 1], NaN tau, instance_k 0, ...); GLIMP_ERR_NOMEM. */
int rt_policy_init(const struct glimp_router_params *p, struct rt_policy **out);
void rt_policy_free(struct rt_policy *pol); /* accepts NULL */

/* A new problem begins: instance calibration starts over; the share
 * policy's history and counts carry on. */
void rt_policy_new_problem(struct rt_policy *pol);

/* The policy inside a caller's glimp_policy_state. */
struct rt_policy *rt_policy_of_state(struct glimp_policy_state *st);

/* Whether decide reads the signal (glimp, share, instance, specreason) or
 * not (slm, llm, random: the writer is known before any SLM token). */
bool rt_policy_uses_signal(const struct rt_policy *pol);

/* Decide the writer of one step and record the signal in the policy's
 * history (share, instance). *tau (may be NULL) receives the threshold in
 * force, NaN for slm, llm and random.
 *   slm / llm: always that model.
 *   random:    the LLM with probability share, from the policy's own seeded
 *              RNG (share 0: never, 1: always).
 *   glimp:     the LLM when signal > tau (tau +inf: never, -inf: always).
 *   share:     the LLM when the signal ranks in the top `share` of the
 *              signals seen so far (ties split at random), corrected by how
 *              far the share so far is from the target, so that over a long
 *              run the LLM share comes within a few points of the target.
 *   instance:  before instance_k signals have been seen, as glimp with tau;
 *              then tau = mean + z * sd (population sd) of the first
 *              instance_k signals, fixed for the rest of the problem.
 *   specreason: the signal is the judge's score; the SLM's step stands when
 *              score >= threshold, else the LLM rewrites it (tau reports the
 *              threshold).
 * A NaN signal counts as 0 (never happens with real models). */
enum glimp_writer rt_policy_decide(struct rt_policy *pol, double signal, double *tau);

#endif
