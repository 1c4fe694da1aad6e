// The typed client every example uses: supabase-js with the generated `Database` types.
import { createClient } from "@supabase/supabase-js";
import type { Database } from "../../supabase/types/database.types.ts";

export const supabase = createClient<Database>(
  Deno.env.get("SUPABASE_URL") ?? "http://127.0.0.1:54321",
  Deno.env.get("SUPABASE_ANON_KEY") ?? "",
);
