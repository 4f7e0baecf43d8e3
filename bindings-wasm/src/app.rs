//! The app's lifecycle for the JS layer: minted location sessions (a call's `mint` step, the
//! mint call on the company, `mintFailed`) and the webhook plan (`planWebhook`, the replies).
//! Same names and shapes as the Node addon's `src/app.rs`.

use super::*;

fn reply_to_js(r: &core::WebhookReply) -> JsValue {
    let o = Object::new();
    set(&o, "status", &JsValue::from(r.status));
    set(&o, "reason", &JsValue::from_str(&r.reason));
    o.into()
}

fn strings(list: &[String]) -> Array {
    list.iter().map(|s| JsValue::from_str(s)).collect()
}

#[wasm_bindgen]
impl Call {
    /// A call that only makes sure `resourceId` holds a usable, saved token (it refreshes, or
    /// mints a minted location's token, and sends nothing else): ends `done` with an empty 204.
    pub fn token(options_value: JsValue) -> Result<Call, JsValue> {
        Ok(Call { inner: core::Call::token(call_options_from(&options_value)?) })
    }

    /// The mint call of a `mint` step: run it on the resource `companyId`; it ends `done` with
    /// the answer of `POST /oauth/locationToken` (feed it to the location's call as a response).
    #[wasm_bindgen(js_name = locationToken)]
    pub fn location_token(company_id: JsValue, location_id: JsValue, options_value: JsValue) -> Result<Call, JsValue> {
        let c = string_arg(&company_id, "companyId")?;
        let l = string_arg(&location_id, "locationId")?;
        Ok(Call { inner: core::Call::location_token(&c, &l, call_options_from(&options_value)?) })
    }
}

#[wasm_bindgen]
impl Pool {
    /// The mint call of the last `mint` step ended with `error` (`{kind, message}`, its fail or
    /// reauthorize error): the lease is freed; the call ends `reauthorize` when the company must
    /// authorize again, else `fail`.
    #[wasm_bindgen(js_name = mintFailed)]
    pub fn mint_failed(
        &mut self,
        call: &mut Call,
        resource_id: JsValue,
        error_value: JsValue,
        now_ms: JsValue,
        random: JsValue,
    ) -> Result<JsValue, JsValue> {
        let rid = string_arg(&resource_id, "resourceId")?;
        let kind = get(&error_value, "kind").as_string().and_then(|k| ErrorKind::from_name(&k));
        let kind = kind.ok_or_else(|| error(ErrorKind::InvalidArgument, "error.kind must be an error kind"))?;
        let message = get(&error_value, "message").as_string().unwrap_or_default();
        let now = required_ms(&now_ms, "nowMs")?;
        let rnd = required_ms(&random, "random")?;
        let ev = core::Event::MintFailed(core::Error::new(kind, message));
        let step = self.inner.step(&mut call.inner, &rid, ev, now, rnd);
        step_to_js(&step)
    }

    /// Make `locationId` a minted location session of `companyId`: true when it holds no
    /// usable token (run `Call.token` on it to mint one), false when it holds its own tokens.
    #[wasm_bindgen(js_name = expectMinted)]
    pub fn expect_minted(&mut self, location_id: JsValue, company_id: JsValue) -> Result<bool, JsValue> {
        let l = string_arg(&location_id, "locationId")?;
        let c = string_arg(&company_id, "companyId")?;
        self.inner.expect_minted(&l, &c).map_err(|e| js_error(&e))
    }

    /// Load a location token minted from `companyId`'s token outside a call (its refresh token,
    /// if any, is dropped): it renews by minting.
    #[wasm_bindgen(js_name = loadMinted)]
    pub fn load_minted(&mut self, location_id: JsValue, company_id: JsValue, tokens: JsValue) -> Result<(), JsValue> {
        let l = string_arg(&location_id, "locationId")?;
        let c = string_arg(&company_id, "companyId")?;
        let set = token_set_from(&tokens)?;
        self.inner.load_minted(&l, &c, set).map_err(|e| js_error(&e))
    }

    /// Forget `resourceId`'s session and pacing state (UNINSTALL); whether it held a credential.
    pub fn forget(&mut self, resource_id: JsValue) -> bool {
        resource_id.as_string().is_some_and(|r| self.inner.forget(&r))
    }

    /// `{companyId, locationId}` of a minted location session, else null.
    #[wasm_bindgen(js_name = mintedFrom)]
    pub fn minted_from(&self, resource_id: JsValue) -> JsValue {
        let m = resource_id.as_string().and_then(|r| self.inner.session(&r).and_then(|s| s.minted_from().cloned()));
        match m {
            Some(m) => {
                let o = Object::new();
                set(&o, "companyId", &JsValue::from_str(&m.company_id));
                set(&o, "locationId", &JsValue::from_str(&m.location_id));
                o.into()
            }
            None => JsValue::NULL,
        }
    }

    /// The plan of a verified delivery (`body`: its raw text or bytes; load `webhookReads(body)`
    /// first): `{eventType, webhookId, companyId, mint, forget, skip, applied, unchanged}`,
    /// `applied`/`unchanged` being the `{status, reason}` to answer when something changed or
    /// not. A body that is not an event throws `malformed_response` (answer `webhookMalformed()`).
    #[wasm_bindgen(js_name = planWebhook)]
    pub fn plan_webhook(&self, body: JsValue) -> Result<JsValue, JsValue> {
        let event = core::parse_webhook_event(&body_from(&body)?).map_err(|e| js_error(&e))?;
        let plan = self.inner.plan_webhook(&event);
        let o = Object::new();
        set(&o, "eventType", &JsValue::from_str(&plan.event_type));
        set(&o, "webhookId", &opt_str(plan.webhook_id.as_deref()));
        set(&o, "companyId", &opt_str(plan.company_id.as_deref()));
        set(&o, "mint", &strings(&plan.mint));
        set(&o, "forget", &strings(&plan.forget));
        set(&o, "skip", &opt_str(plan.skip.as_deref()));
        set(&o, "applied", &reply_to_js(&plan.reply(1)));
        set(&o, "unchanged", &reply_to_js(&plan.reply(0)));
        Ok(o.into())
    }
}

/// The resources to load before `planWebhook(body)` (the event's company and location).
#[wasm_bindgen(js_name = webhookReads, skip_typescript)]
pub fn webhook_reads(body: JsValue) -> Result<Array, JsValue> {
    let event = core::parse_webhook_event(&body_from(&body)?).map_err(|e| js_error(&e))?;
    Ok(strings(&core::webhook_reads(&event)))
}

/// The `{status, reason}` to answer a delivery the verifier rejected (`reason`: its reason), or
/// null for `ok`.
#[wasm_bindgen(js_name = webhookRejected, skip_typescript)]
pub fn webhook_rejected(reason: JsValue) -> Result<JsValue, JsValue> {
    let name = reason.as_string().unwrap_or_default();
    let r = core::VerifyReason::from_name(&name)
        .ok_or_else(|| error(ErrorKind::InvalidArgument, "reason must be ok, bad_signature, stale or duplicate"))?;
    Ok(core::WebhookPlan::rejected_for(r).as_ref().map_or(JsValue::NULL, reply_to_js))
}

/// The `{status, reason}` to answer a verified delivery that is not an event (400 malformed).
#[wasm_bindgen(js_name = webhookMalformed, skip_typescript)]
pub fn webhook_malformed() -> JsValue {
    reply_to_js(&core::WebhookPlan::malformed(&core::Error::new(ErrorKind::MalformedResponse, "malformed")))
}
