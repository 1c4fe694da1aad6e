#!/usr/bin/env bash
# `npm run stripe:send -- [--user ID] [--now] [--fresh] [--new-id] [--url URL] <fixture>...`: sign Stripe event
# fixtures with the webhook secret and post them to the local stripe-webhook function.
# Details in scripts/stripe-send.ts.
source "$(dirname "$0")/lib.sh"

export STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-$STRIPE_WEBHOOK_SECRET_LOCAL}
export API_PORT
cd "$ROOT" || exit 1
exec deno run --allow-read --allow-env --allow-net --quiet scripts/stripe-send.ts "$@"
