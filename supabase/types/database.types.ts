export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  public: {
    Tables: {
      customer_subscriptions: {
        Row: {
          cancel_at_period_end: boolean
          canceled_at: string | null
          created_at: string
          current_period_end: string | null
          current_period_start: string | null
          drip_anchor: string
          id: string
          last_stripe_event_at: string | null
          legacy_last_cycle: number | null
          next_cycle_number: number
          next_drip_at: string | null
          plan_id: string | null
          status: string
          stripe_customer_id: string | null
          stripe_subscription_id: string | null
          updated_at: string
          user_id: string
        }
        Insert: {
          cancel_at_period_end?: boolean
          canceled_at?: string | null
          created_at?: string
          current_period_end?: string | null
          current_period_start?: string | null
          drip_anchor?: string
          id?: string
          last_stripe_event_at?: string | null
          legacy_last_cycle?: number | null
          next_cycle_number?: number
          next_drip_at?: string | null
          plan_id?: string | null
          status?: string
          stripe_customer_id?: string | null
          stripe_subscription_id?: string | null
          updated_at?: string
          user_id: string
        }
        Update: {
          cancel_at_period_end?: boolean
          canceled_at?: string | null
          created_at?: string
          current_period_end?: string | null
          current_period_start?: string | null
          drip_anchor?: string
          id?: string
          last_stripe_event_at?: string | null
          legacy_last_cycle?: number | null
          next_cycle_number?: number
          next_drip_at?: string | null
          plan_id?: string | null
          status?: string
          stripe_customer_id?: string | null
          stripe_subscription_id?: string | null
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "customer_subscriptions_plan_id_fkey"
            columns: ["plan_id"]
            isOneToOne: false
            referencedRelation: "subscription_plans"
            referencedColumns: ["id"]
          },
        ]
      }
      drip_failures: {
        Row: {
          as_of: string
          detail: string | null
          failed_at: string
          hint: string | null
          message: string
          next_cycle_number: number
          next_drip_at: string | null
          sqlstate: string
          subscription_id: string
          user_id: string
        }
        Insert: {
          as_of: string
          detail?: string | null
          failed_at?: string
          hint?: string | null
          message: string
          next_cycle_number: number
          next_drip_at?: string | null
          sqlstate: string
          subscription_id: string
          user_id: string
        }
        Update: {
          as_of?: string
          detail?: string | null
          failed_at?: string
          hint?: string | null
          message?: string
          next_cycle_number?: number
          next_drip_at?: string | null
          sqlstate?: string
          subscription_id?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "drip_failures_subscription_id_fkey"
            columns: ["user_id", "subscription_id"]
            isOneToOne: true
            referencedRelation: "customer_subscriptions"
            referencedColumns: ["user_id", "id"]
          },
        ]
      }
      ledger_reconciliation_runs: {
        Row: {
          finished_at: string
          id: string
          problems: NonNullable<Json>
          started_at: string
          status: string
          users_checked: number
          users_with_problems: number
        }
        Insert: {
          finished_at?: string
          id?: string
          problems?: NonNullable<Json>
          started_at?: string
          status: string
          users_checked: number
          users_with_problems: number
        }
        Update: {
          finished_at?: string
          id?: string
          problems?: NonNullable<Json>
          started_at?: string
          status?: string
          users_checked?: number
          users_with_problems?: number
        }
        Relationships: []
      }
      ledger_settings: {
        Row: {
          id: boolean
          low_balance_threshold: number
          low_balance_threshold_max: number
          low_balance_threshold_min: number
          trial_lifetime: string | null
          trial_tokens: number
          updated_at: string
        }
        Insert: {
          id?: boolean
          low_balance_threshold?: number
          low_balance_threshold_max?: number
          low_balance_threshold_min?: number
          trial_lifetime?: string | null
          trial_tokens?: number
          updated_at?: string
        }
        Update: {
          id?: boolean
          low_balance_threshold?: number
          low_balance_threshold_max?: number
          low_balance_threshold_min?: number
          trial_lifetime?: string | null
          trial_tokens?: number
          updated_at?: string
        }
        Relationships: []
      }
      signup_trial_failures: {
        Row: {
          detail: string | null
          failed_at: string
          id: string
          message: string
          resolved_at: string | null
          sqlstate: string
          transaction_id: string | null
          trial_lifetime: string | null
          trial_tokens: number
          user_id: string
        }
        Insert: {
          detail?: string | null
          failed_at?: string
          id?: string
          message: string
          resolved_at?: string | null
          sqlstate: string
          transaction_id?: string | null
          trial_lifetime?: string | null
          trial_tokens: number
          user_id: string
        }
        Update: {
          detail?: string | null
          failed_at?: string
          id?: string
          message?: string
          resolved_at?: string | null
          sqlstate?: string
          transaction_id?: string | null
          trial_lifetime?: string | null
          trial_tokens?: number
          user_id?: string
        }
        Relationships: []
      }
      stripe_customers: {
        Row: {
          created_at: string
          stripe_customer_id: string
          user_id: string
        }
        Insert: {
          created_at?: string
          stripe_customer_id: string
          user_id: string
        }
        Update: {
          created_at?: string
          stripe_customer_id?: string
          user_id?: string
        }
        Relationships: []
      }
      stripe_events: {
        Row: {
          created: string
          error: string | null
          id: string
          livemode: boolean
          payload: NonNullable<Json>
          processed_at: string
          received_at: string
          result: NonNullable<Json>
          status: string
          type: string
        }
        Insert: {
          created: string
          error?: string | null
          id: string
          livemode?: boolean
          payload: NonNullable<Json>
          processed_at?: string
          received_at?: string
          result?: NonNullable<Json>
          status: string
          type: string
        }
        Update: {
          created?: string
          error?: string | null
          id?: string
          livemode?: boolean
          payload?: NonNullable<Json>
          processed_at?: string
          received_at?: string
          result?: NonNullable<Json>
          status?: string
          type?: string
        }
        Relationships: []
      }
      stripe_subscriptions: {
        Row: {
          created_at: string
          stripe_subscription_id: string
          user_id: string
        }
        Insert: {
          created_at?: string
          stripe_subscription_id: string
          user_id: string
        }
        Update: {
          created_at?: string
          stripe_subscription_id?: string
          user_id?: string
        }
        Relationships: []
      }
      subscription_plans: {
        Row: {
          active: boolean
          annual_grant_tokens: number | null
          created_at: string
          drip_interval: string
          drip_tokens: number
          id: string
          max_rollover_cycles: number
          max_rollover_tokens: number | null
          name: string
          stripe_price_id: string | null
        }
        Insert: {
          active?: boolean
          annual_grant_tokens?: number | null
          created_at?: string
          drip_interval?: string
          drip_tokens?: number
          id: string
          max_rollover_cycles?: number
          max_rollover_tokens?: number | null
          name?: string
          stripe_price_id?: string | null
        }
        Update: {
          active?: boolean
          annual_grant_tokens?: number | null
          created_at?: string
          drip_interval?: string
          drip_tokens?: number
          id?: string
          max_rollover_cycles?: number
          max_rollover_tokens?: number | null
          name?: string
          stripe_price_id?: string | null
        }
        Relationships: []
      }
      token_alert_preferences: {
        Row: {
          low_balance_threshold: number
          updated_at: string
          user_id: string
        }
        Insert: {
          low_balance_threshold: number
          updated_at?: string
          user_id: string
        }
        Update: {
          low_balance_threshold?: number
          updated_at?: string
          user_id?: string
        }
        Relationships: []
      }
      token_alerts: {
        Row: {
          attempts: number
          available_after: number
          available_before: number
          balance_after: number
          claimed_until: string | null
          created_at: string
          delivered_at: string | null
          entry_id: string
          entry_kind: string
          held: number
          id: string
          kind: string
          threshold: number
          user_id: string
        }
        Insert: {
          attempts?: number
          available_after: number
          available_before: number
          balance_after: number
          claimed_until?: string | null
          created_at?: string
          delivered_at?: string | null
          entry_id: string
          entry_kind: string
          held: number
          id?: string
          kind?: string
          threshold: number
          user_id: string
        }
        Update: {
          attempts?: number
          available_after?: number
          available_before?: number
          balance_after?: number
          claimed_until?: string | null
          created_at?: string
          delivered_at?: string | null
          entry_id?: string
          entry_kind?: string
          held?: number
          id?: string
          kind?: string
          threshold?: number
          user_id?: string
        }
        Relationships: []
      }
      token_balances: {
        Row: {
          balance: number
          debt: number
          held: number
          next_due_at: string
          updated_at: string
          user_id: string
        }
        Insert: {
          balance?: number
          debt?: number
          held?: number
          next_due_at?: string
          updated_at?: string
          user_id: string
        }
        Update: {
          balance?: number
          debt?: number
          held?: number
          next_due_at?: string
          updated_at?: string
          user_id?: string
        }
        Relationships: []
      }
      token_drips: {
        Row: {
          balance_after: number
          balance_before: number
          billing_period_end: string | null
          billing_period_start: string | null
          created_at: string | null
          cycle_number: number
          drip_amount: number
          drip_date: string | null
          entry_seq: number
          expired_tokens: number | null
          id: string
          is_legacy: boolean
          metadata: Json | null
          plan_id: string | null
          rollover_cycles_count: number | null
          rollover_from_previous: number | null
          subscription_id: string | null
          user_id: string
        }
        Insert: {
          balance_after: number
          balance_before: number
          billing_period_end?: string | null
          billing_period_start?: string | null
          created_at?: string | null
          cycle_number: number
          drip_amount: number
          drip_date?: string | null
          entry_seq?: number
          expired_tokens?: number | null
          id?: string
          is_legacy?: boolean
          metadata?: Json | null
          plan_id?: string | null
          rollover_cycles_count?: number | null
          rollover_from_previous?: number | null
          subscription_id?: string | null
          user_id: string
        }
        Update: {
          balance_after?: number
          balance_before?: number
          billing_period_end?: string | null
          billing_period_start?: string | null
          created_at?: string | null
          cycle_number?: number
          drip_amount?: number
          drip_date?: string | null
          entry_seq?: number
          expired_tokens?: number | null
          id?: string
          is_legacy?: boolean
          metadata?: Json | null
          plan_id?: string | null
          rollover_cycles_count?: number | null
          rollover_from_previous?: number | null
          subscription_id?: string | null
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "token_drips_subscription_id_fkey"
            columns: ["user_id", "subscription_id"]
            isOneToOne: false
            referencedRelation: "customer_subscriptions"
            referencedColumns: ["user_id", "id"]
          },
        ]
      }
      token_features: {
        Row: {
          active: boolean
          created_at: string
          description: string
          id: string
        }
        Insert: {
          active?: boolean
          created_at?: string
          description?: string
          id: string
        }
        Update: {
          active?: boolean
          created_at?: string
          description?: string
          id?: string
        }
        Relationships: []
      }
      token_holds: {
        Row: {
          available_after: number
          closed_at: string | null
          created_at: string
          expires_at: string
          feature: string
          id: string
          idempotency_key: string
          request_hash: string
          status: string
          tokens_held: number
          tokens_released: number | null
          tokens_used: number | null
          usage_id: string | null
          user_id: string
        }
        Insert: {
          available_after: number
          closed_at?: string | null
          created_at?: string
          expires_at: string
          feature: string
          id?: string
          idempotency_key: string
          request_hash: string
          status?: string
          tokens_held: number
          tokens_released?: number | null
          tokens_used?: number | null
          usage_id?: string | null
          user_id: string
        }
        Update: {
          available_after?: number
          closed_at?: string | null
          created_at?: string
          expires_at?: string
          feature?: string
          id?: string
          idempotency_key?: string
          request_hash?: string
          status?: string
          tokens_held?: number
          tokens_released?: number | null
          tokens_used?: number | null
          usage_id?: string | null
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "token_holds_feature_fkey"
            columns: ["feature"]
            isOneToOne: false
            referencedRelation: "token_features"
            referencedColumns: ["id"]
          },
        ]
      }
      token_lots: {
        Row: {
          created_at: string
          drip_id: string | null
          expires_at: string | null
          has_tokens: boolean
          id: string
          original: number
          remaining: number
          source: string
          subscription_id: string | null
          transaction_id: string | null
          user_id: string
        }
        Insert: {
          created_at?: string
          drip_id?: string | null
          expires_at?: string | null
          has_tokens?: never
          id?: string
          original: number
          remaining: number
          source: string
          subscription_id?: string | null
          transaction_id?: string | null
          user_id: string
        }
        Update: {
          created_at?: string
          drip_id?: string | null
          expires_at?: string | null
          has_tokens?: never
          id?: string
          original?: number
          remaining?: number
          source?: string
          subscription_id?: string | null
          transaction_id?: string | null
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "token_lots_transaction_id_fkey"
            columns: ["user_id", "transaction_id"]
            isOneToOne: false
            referencedRelation: "token_transactions"
            referencedColumns: ["user_id", "id"]
          },
        ]
      }
      token_packs: {
        Row: {
          active: boolean
          created_at: string
          id: string
          name: string
          stripe_price_id: string | null
          tokens: number
        }
        Insert: {
          active?: boolean
          created_at?: string
          id: string
          name?: string
          stripe_price_id?: string | null
          tokens: number
        }
        Update: {
          active?: boolean
          created_at?: string
          id?: string
          name?: string
          stripe_price_id?: string | null
          tokens?: number
        }
        Relationships: []
      }
      token_transactions: {
        Row: {
          actor_id: string | null
          amount_cents: number | null
          balance_after: number | null
          balance_before: number | null
          created_at: string
          currency: string | null
          entry_seq: number
          expires_at: string | null
          id: string
          idempotency_key: string | null
          is_legacy: boolean
          metadata: NonNullable<Json>
          pack_id: string | null
          related_transaction_id: string | null
          request_hash: string | null
          source: string | null
          stripe_charge_id: string | null
          stripe_checkout_session_id: string | null
          stripe_customer_id: string | null
          stripe_event_id: string | null
          stripe_payment_intent_id: string | null
          token_amount: number | null
          transaction_type: string | null
          user_id: string
        }
        Insert: {
          actor_id?: string | null
          amount_cents?: number | null
          balance_after?: number | null
          balance_before?: number | null
          created_at?: string
          currency?: string | null
          entry_seq?: number
          expires_at?: string | null
          id?: string
          idempotency_key?: string | null
          is_legacy?: boolean
          metadata?: NonNullable<Json>
          pack_id?: string | null
          related_transaction_id?: string | null
          request_hash?: string | null
          source?: string | null
          stripe_charge_id?: string | null
          stripe_checkout_session_id?: string | null
          stripe_customer_id?: string | null
          stripe_event_id?: string | null
          stripe_payment_intent_id?: string | null
          token_amount?: number | null
          transaction_type?: string | null
          user_id: string
        }
        Update: {
          actor_id?: string | null
          amount_cents?: number | null
          balance_after?: number | null
          balance_before?: number | null
          created_at?: string
          currency?: string | null
          entry_seq?: number
          expires_at?: string | null
          id?: string
          idempotency_key?: string | null
          is_legacy?: boolean
          metadata?: NonNullable<Json>
          pack_id?: string | null
          related_transaction_id?: string | null
          request_hash?: string | null
          source?: string | null
          stripe_charge_id?: string | null
          stripe_checkout_session_id?: string | null
          stripe_customer_id?: string | null
          stripe_event_id?: string | null
          stripe_payment_intent_id?: string | null
          token_amount?: number | null
          transaction_type?: string | null
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "token_transactions_related_transaction_id_fkey"
            columns: ["user_id", "related_transaction_id"]
            isOneToOne: false
            referencedRelation: "token_transactions"
            referencedColumns: ["user_id", "id"]
          },
        ]
      }
      token_usage: {
        Row: {
          balance_after: number | null
          balance_before: number | null
          created_at: string
          entry_seq: number
          feature: string
          hold_id: string | null
          id: string
          idempotency_key: string | null
          is_legacy: boolean
          metadata: Json | null
          model: string | null
          overage_tokens: number
          request_hash: string | null
          tokens: number
          user_id: string
        }
        Insert: {
          balance_after?: number | null
          balance_before?: number | null
          created_at?: string
          entry_seq?: number
          feature: string
          hold_id?: string | null
          id?: string
          idempotency_key?: string | null
          is_legacy?: boolean
          metadata?: Json | null
          model?: string | null
          overage_tokens?: number
          request_hash?: string | null
          tokens: number
          user_id: string
        }
        Update: {
          balance_after?: number | null
          balance_before?: number | null
          created_at?: string
          entry_seq?: number
          feature?: string
          hold_id?: string | null
          id?: string
          idempotency_key?: string | null
          is_legacy?: boolean
          metadata?: Json | null
          model?: string | null
          overage_tokens?: number
          request_hash?: string | null
          tokens?: number
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "token_usage_hold_id_fkey"
            columns: ["user_id", "hold_id"]
            isOneToOne: false
            referencedRelation: "token_holds"
            referencedColumns: ["user_id", "id"]
          },
        ]
      }
      token_usage_archives: {
        Row: {
          archived_at: string
          archived_table: string
          closing_state: Json | null
          last_balance_after: number | null
          last_entry_at: string | null
          last_entry_seq: number | null
          legacy_rows: number
          legacy_tokens: number
          period_end: string
          period_start: string
          tokens: number
          usage_rows: number
          user_id: string
        }
        Insert: {
          archived_at?: string
          archived_table: string
          closing_state?: Json | null
          last_balance_after?: number | null
          last_entry_at?: string | null
          last_entry_seq?: number | null
          legacy_rows: number
          legacy_tokens?: number
          period_end: string
          period_start: string
          tokens: number
          usage_rows: number
          user_id: string
        }
        Update: {
          archived_at?: string
          archived_table?: string
          closing_state?: Json | null
          last_balance_after?: number | null
          last_entry_at?: string | null
          last_entry_seq?: number | null
          legacy_rows?: number
          legacy_tokens?: number
          period_end?: string
          period_start?: string
          tokens?: number
          usage_rows?: number
          user_id?: string
        }
        Relationships: []
      }
      token_usage_corrections: {
        Row: {
          actor_id: string | null
          corrected_at: string
          plan_hash: string
          reason: string | null
          transaction_id: string
          transaction_type: string
          usage_id: string
          user_id: string
        }
        Insert: {
          actor_id?: string | null
          corrected_at?: string
          plan_hash: string
          reason?: string | null
          transaction_id: string
          transaction_type: string
          usage_id: string
          user_id: string
        }
        Update: {
          actor_id?: string | null
          corrected_at?: string
          plan_hash?: string
          reason?: string | null
          transaction_id?: string
          transaction_type?: string
          usage_id?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "token_usage_corrections_transaction_id_fkey"
            columns: ["user_id", "transaction_id"]
            isOneToOne: false
            referencedRelation: "token_transactions"
            referencedColumns: ["user_id", "id"]
          },
        ]
      }
      unattributed_payments: {
        Row: {
          amount_cents: number
          attributed_at: string | null
          attributed_user_id: string | null
          client_reference_id: string | null
          currency: string
          customer_email: string | null
          metadata_user_id: string | null
          pack_id: string | null
          payload: NonNullable<Json>
          purchase_transaction_id: string | null
          received_at: string
          refund_or_dispute_event_id: string | null
          stripe_checkout_session_id: string
          stripe_customer_id: string | null
          stripe_event_id: string
          stripe_payment_intent_id: string | null
        }
        Insert: {
          amount_cents: number
          attributed_at?: string | null
          attributed_user_id?: string | null
          client_reference_id?: string | null
          currency: string
          customer_email?: string | null
          metadata_user_id?: string | null
          pack_id?: string | null
          payload: NonNullable<Json>
          purchase_transaction_id?: string | null
          received_at?: string
          refund_or_dispute_event_id?: string | null
          stripe_checkout_session_id: string
          stripe_customer_id?: string | null
          stripe_event_id: string
          stripe_payment_intent_id?: string | null
        }
        Update: {
          amount_cents?: number
          attributed_at?: string | null
          attributed_user_id?: string | null
          client_reference_id?: string | null
          currency?: string
          customer_email?: string | null
          metadata_user_id?: string | null
          pack_id?: string | null
          payload?: NonNullable<Json>
          purchase_transaction_id?: string | null
          received_at?: string
          refund_or_dispute_event_id?: string | null
          stripe_checkout_session_id?: string
          stripe_customer_id?: string | null
          stripe_event_id?: string
          stripe_payment_intent_id?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "unattributed_payments_refund_or_dispute_event_id_fkey"
            columns: ["refund_or_dispute_event_id"]
            isOneToOne: false
            referencedRelation: "stripe_events"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "unattributed_payments_stripe_event_id_fkey"
            columns: ["stripe_event_id"]
            isOneToOne: false
            referencedRelation: "stripe_events"
            referencedColumns: ["id"]
          },
        ]
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      archive_usage: {
        Args: { p_as_of?: string; p_before: string }
        Returns: Json
      }
      attribute_payment: {
        Args: { p_stripe_checkout_session_id: string; p_user_id: string }
        Returns: Json
      }
      claim_token_alerts: {
        Args: { p_lease_seconds?: number; p_limit?: number }
        Returns: {
          attempts: number
          available_after: number
          available_before: number
          balance_after: number
          claimed_until: string | null
          created_at: string
          delivered_at: string | null
          entry_id: string
          entry_kind: string
          held: number
          id: string
          kind: string
          threshold: number
          user_id: string
        }[]
        SetofOptions: {
          from: "*"
          to: "token_alerts"
          isOneToOne: false
          isSetofReturn: true
        }
      }
      correct_misfiled_usage: {
        Args: {
          p_apply?: boolean
          p_feature?: string
          p_metadata?: Json
          p_model?: string
          p_plan_hash?: string
          p_reason?: string
          p_transaction_type: string
          p_usage_ids?: string[]
        }
        Returns: Json
      }
      create_usage_partitions: { Args: { p_as_of?: string }; Returns: Json }
      expire_holds: { Args: { p_as_of?: string }; Returns: Json }
      expire_tokens: { Args: { p_as_of?: string }; Returns: Json }
      find_ledger_users: {
        Args: { p_limit?: number; p_query: string }
        Returns: {
          available: number
          balance: number
          created_at: string
          debt: number
          email: string
          held: number
          last_entry_at: string
          subscriptions: Json
          user_id: string
        }[]
      }
      get_ledger_jobs: {
        Args: Record<PropertyKey, never>
        Returns: {
          active: boolean
          command: string
          failures_24h: number
          jobname: string
          last_end: string
          last_message: string
          last_start: string
          last_status: string
          runs_24h: number
          schedule: string
        }[]
      }
      get_low_balance_threshold: { Args: { p_user_id?: string }; Returns: Json }
      get_token_balance: { Args: { p_user_id?: string }; Returns: Json }
      get_token_balance_at: {
        Args: { p_at: string; p_user_id?: string }
        Returns: Json
      }
      get_token_statement: {
        Args: {
          p_cursor?: string
          p_from?: string
          p_limit?: number
          p_to?: string
          p_user_id?: string
        }
        Returns: Json
      }
      grant_tokens: {
        Args: {
          p_amount: number
          p_expires_at?: string
          p_idempotency_key: string
          p_metadata?: Json
          p_source?: string
          p_type: string
          p_user_id: string
        }
        Returns: Json
      }
      handle_stripe_event: { Args: { p_event: Json }; Returns: Json }
      mark_token_alerts_delivered: {
        Args: { p_alert_ids: string[] }
        Returns: Json
      }
      reconcile_token_ledger: {
        Args: { p_deep?: boolean; p_user_id?: string }
        Returns: {
          available: number
          balance: number
          debt: number
          held: number
          lapsed_unswept: number
          last_balance_after: number
          ledger_balance: number
          lots_remaining: number
          problems: string[]
          user_id: string
        }[]
      }
      record_purchase: {
        Args: {
          p_amount_cents: number
          p_currency: string
          p_idempotency_key: string
          p_metadata?: Json
          p_pack_id: string
          p_stripe_checkout_session_id?: string
          p_stripe_customer_id?: string
          p_stripe_event_id?: string
          p_stripe_payment_intent_id?: string
          p_user_id: string
        }
        Returns: Json
      }
      record_usage: {
        Args: {
          p_feature: string
          p_idempotency_key: string
          p_metadata?: Json
          p_model?: string
          p_tokens: number
          p_user_id?: string
        }
        Returns: Json
      }
      release_hold: { Args: { p_hold_id: string }; Returns: Json }
      reserve_tokens: {
        Args: {
          p_feature: string
          p_idempotency_key: string
          p_tokens: number
          p_ttl_seconds?: number
          p_user_id?: string
        }
        Returns: Json
      }
      retry_signup_trial: { Args: { p_user_id: string }; Returns: Json }
      run_drip: {
        Args: { p_as_of?: string; p_subscription_id: string }
        Returns: Json
      }
      run_due_drips: {
        Args: { p_as_of?: string; p_limit?: number }
        Returns: Json
      }
      run_ledger_reconciliation: {
        Args: Record<PropertyKey, never>
        Returns: Json
      }
      set_low_balance_threshold: {
        Args: { p_threshold: number; p_user_id?: string }
        Returns: Json
      }
      settle_hold: {
        Args: {
          p_hold_id: string
          p_metadata?: Json
          p_model?: string
          p_tokens_used: number
        }
        Returns: Json
      }
      update_ledger_settings: { Args: { p_changes: Json }; Returns: Json }
      verify_token_ledger: {
        Args: { p_user_id?: string }
        Returns: {
          debt: number
          holds_held: number
          ledger_balance: number
          lots_balance: number
          next_due: string
          stored_balance: number
          stored_held: number
          stored_next_due_at: string
          user_id: string
        }[]
      }
      void_grant: {
        Args: {
          p_idempotency_key: string
          p_reason: string
          p_transaction_id: string
        }
        Returns: Json
      }
    }
    Enums: {
      [_ in never]: never
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  public: {
    Enums: {},
  },
} as const

