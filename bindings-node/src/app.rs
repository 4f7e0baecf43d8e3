//! The app's lifecycle for the JS layer: minted location sessions (a call's `mint` step, the
//! mint call on the company, `mintFailed`) and the webhook plan (`planWebhook`, the replies).
//! Same names and shapes as the WASM module's `src/app.rs`.

use super::*;

fn reply_out(r: &core::WebhookReply) -> Value {
    json!({ "status": r.status, "reason": r.reason })
}

fn parsed(env: &Env, body: &Either<String, Uint8Array>) -> napi::Result<core::WebhookEvent> {
    core::parse_webhook_event(body_bytes(body)).or_throw(env)
}

#[napi]
impl Call {
    /// A call that only makes sure its resource holds a usable, saved token (it refreshes, or
    /// mints a minted location's token, and sends nothing else): ends `done` with an empty 204.
    #[napi(factory, ts_args_type = "options?: import('./lib/native').NativeCallOptions | undefined | null")]
    pub fn token(env: Env, options: Option<Unknown>) -> napi::Result<Call> {
        let o: core::CallOptions =
            options_in(options, "callOptions", serde_json::from_value::<core::CallOptions>).or_throw(&env)?;
        Ok(Call { inner: core::Call::token(o) })
    }

    /// The mint call of a `mint` step: run it on the resource `companyId`; it ends `done` with
    /// the answer of `POST /oauth/locationToken` (feed it to the location's call as a response).
    #[napi(
        factory,
        ts_args_type = "companyId: string, locationId: string, options?: import('./lib/native').NativeCallOptions | undefined | null"
    )]
    pub fn location_token(env: Env, company_id: String, location_id: String, options: Option<Unknown>) -> napi::Result<Call> {
        let o: core::CallOptions =
            options_in(options, "callOptions", serde_json::from_value::<core::CallOptions>).or_throw(&env)?;
        Ok(Call { inner: core::Call::location_token(&company_id, &location_id, o) })
    }
}

#[napi]
impl Pool {
    /// The mint call of the last `mint` step ended with `error` (`{kind, message}`, its fail or
    /// reauthorize error): the lease is freed; the call ends `reauthorize` when the company must
    /// authorize again, else `fail`.
    #[napi(
        ts_args_type = "call: Call, resourceId: string, error: { kind: string; message?: string }, nowMs: number, random: number",
        ts_return_type = "import('./lib/native').NativeStep"
    )]
    pub fn mint_failed(
        &mut self,
        env: Env,
        call: &mut Call,
        resource_id: String,
        error: Unknown,
        now_ms: Num,
        random: Num,
    ) -> napi::Result<Js> {
        let now = ms(now_ms.0, "nowMs").or_throw(&env)?;
        let random = ms(random.0, "random").or_throw(&env)?;
        let fields = fields_in(Some(error), "error", ErrorKind::InvalidArgument, Takes::Records).or_throw(&env)?;
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.as_str().map(str::to_owned));
        let kind = field("kind").and_then(|k| ErrorKind::from_name(&k));
        let kind = kind.ok_or_else(|| throw(&env, arg_error("error.kind must be an error kind")))?;
        let ev = core::Event::MintFailed(core::Error::new(kind, field("message").unwrap_or_default()));
        let step = self.inner.step(&mut call.inner, &resource_id, ev, now, random);
        Ok(step_out(&step))
    }

    /// Make `locationId` a minted location session of `companyId`: true when it holds no usable
    /// token (run `Call.token` on it to mint one), false when it holds its own tokens.
    #[napi]
    pub fn expect_minted(&mut self, env: Env, location_id: String, company_id: String) -> napi::Result<bool> {
        self.inner.expect_minted(&location_id, &company_id).or_throw(&env)
    }

    /// Load a location token minted from `companyId`'s token outside a call (its refresh token,
    /// if any, is dropped): it renews by minting.
    #[napi(ts_args_type = "locationId: string, companyId: string, tokens: import('./lib/native').NativeTokenSet")]
    pub fn load_minted(&mut self, env: Env, location_id: String, company_id: String, tokens: Unknown) -> napi::Result<()> {
        let t = token_set_in(tokens).or_throw(&env)?;
        self.inner.load_minted(&location_id, &company_id, t).or_throw(&env)
    }

    /// Forget `resourceId`'s session and pacing state (UNINSTALL); whether it held a credential.
    #[napi]
    pub fn forget(&mut self, resource_id: String) -> bool {
        self.inner.forget(&resource_id)
    }

    /// `{companyId, locationId}` of a minted location session (what a `mint` step asks for),
    /// else null.
    #[napi(ts_return_type = "{ companyId: string; locationId: string } | null")]
    pub fn minted_from(&self, resource_id: String) -> Js {
        let m = self.inner.session(&resource_id).and_then(|s| s.minted_from().cloned());
        out(to_value(m))
    }

    /// The plan of a verified delivery (`body`: its raw text or bytes; load `webhookReads(body)`
    /// first): `{eventType, webhookId, companyId, mint, forget, skip, applied, unchanged}`,
    /// `applied`/`unchanged` being the `{status, reason}` to answer when something changed or
    /// not. A body that is not an event throws `malformed_response` (answer `webhookMalformed()`).
    #[napi(
        ts_args_type = "body: string | Uint8Array",
        ts_return_type = "import('./lib/native').NativeWebhookPlan"
    )]
    pub fn plan_webhook(&self, env: Env, body: Either<String, Uint8Array>) -> napi::Result<Js> {
        let plan = self.inner.plan_webhook(&parsed(&env, &body)?);
        let mut v = to_value(&plan).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("applied".into(), reply_out(&plan.reply(1)));
            m.insert("unchanged".into(), reply_out(&plan.reply(0)));
        }
        Ok(Js(v, true))
    }
}

/// The resources to load before `planWebhook(body)` (the event's company and location).
#[napi(ts_args_type = "body: string | Uint8Array")]
pub fn webhook_reads(env: Env, body: Either<String, Uint8Array>) -> napi::Result<Vec<String>> {
    Ok(core::webhook_reads(&parsed(&env, &body)?))
}

/// The `{status, reason}` to answer a delivery the verifier rejected (`reason`: its reason), or
/// null for `ok`.
#[napi(ts_return_type = "{ status: number; reason: string } | null")]
pub fn webhook_rejected(env: Env, reason: String) -> napi::Result<Js> {
    let r = core::VerifyReason::from_name(&reason)
        .ok_or_else(|| throw(&env, arg_error("reason must be ok, bad_signature, stale or duplicate")))?;
    Ok(Js(core::WebhookPlan::rejected_for(r).as_ref().map_or(Value::Null, reply_out), true))
}

/// The `{status, reason}` to answer a verified delivery that is not an event (400 malformed).
#[napi(ts_return_type = "{ status: number; reason: string }")]
pub fn webhook_malformed() -> Js {
    let e = core::Error::new(ErrorKind::MalformedResponse, "malformed");
    Js(reply_out(&core::WebhookPlan::malformed(&e)), true)
}
