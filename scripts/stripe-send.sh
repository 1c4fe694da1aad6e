#!/usr/bin/env bash
# `npm run stripe:send -- [--user ID] [--now] [--fresh] [--new-id] [--url URL] <fixture>...`: sign Stripe event
# fixtures with the webhook secret and post them to the local stripe-webhook function.
# Details in scripts/stripe-send.ts.
source "$(dirname "$0")/lib.sh"

# Without STRIPE_WEBHOOK_SECRET, sign with the secret the running stack serves the function with:
# `npm start` writes it to .local-stack/env, and a stack started with STRIPE_WEBHOOK_SECRET=...
# answers 400 to anything signed with the default.
if [ -z "${STRIPE_WEBHOOK_SECRET:-}" ] && [ -f "$(state_dir)/env" ]; then
  STRIPE_WEBHOOK_SECRET=$(sed -nE "s/^STRIPE_WEBHOOK_SECRET='(.*)'$/\1/p" "$(state_dir)/env")
fi
export STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-$STRIPE_WEBHOOK_SECRET_LOCAL}
export API_PORT
cd "$ROOT" || exit 1
exec deno run --allow-read --allow-env --allow-net --quiet scripts/stripe-send.ts "$@"
