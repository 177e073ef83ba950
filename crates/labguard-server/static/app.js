// labguard web UI: small, dependency-free. Talks to the JSON API with the session cookie
// and the page's CSRF token; logs the user off when the idle timeout passes.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const meta = (n) => (document.querySelector(`meta[name="${n}"]`) || {}).content || "";
  let csrf = meta("csrf");
  const idle = parseInt(meta("idle-seconds") || "0", 10);
  let idleTimer = null;

  function armIdle() {
    if (!idle) return;
    clearTimeout(idleTimer);
    // One second late, so the server has certainly expired the session too.
    idleTimer = setTimeout(() => { location.href = "/sign-in?expired=1"; }, (idle + 1) * 1000);
  }

  function showError(msg) { const e = $("error"); if (e) e.textContent = msg || ""; }

  async function api(method, url, body) {
    const opts = { method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    if (method !== "GET" && csrf) opts.headers["X-CSRF-Token"] = csrf;
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (_) { data = null; }
    if (r.status === 401 && data && data.error === "session-expired") {
      location.href = "/sign-in?expired=1";
      throw new Error("expired");
    }
    if (r.status === 403 && data && data.error === "forbidden") {
      const d = $("denied"); if (d) d.hidden = false;
    }
    armIdle();
    if (!r.ok) { const e = new Error((data && data.message) || ("HTTP " + r.status)); e.status = r.status; e.data = data; throw e; }
    return data;
  }

  function cell(tr, text) { const td = document.createElement("td"); td.textContent = text == null ? "" : String(text); tr.appendChild(td); return td; }
  function clear(tbody) { while (tbody.firstChild) tbody.removeChild(tbody.firstChild); }

  // ---- sign-in page ----
  function signIn() {
    const pw = $("password-form");
    if (!pw) return;
    // Back from the lab's directory with labguard's own second factor still due.
    if (new URLSearchParams(location.search).has("sso")) api("GET", "/api/v1/me").then(async (me) => {
      csrf = me.csrf_token; pw.hidden = true;
      if (me.stage === "mfa") { $("mfa-form").hidden = false; $("code").focus(); } else if (me.stage === "enroll") await startEnroll();
    }).catch((e) => showError(e.message));
    pw.addEventListener("submit", async (ev) => {
      ev.preventDefault(); showError("");
      try {
        const r = await api("POST", "/api/v1/auth/sign-in", { username: $("username").value, password: $("password").value });
        csrf = r.csrf_token; pw.hidden = true;
        if (r.stage === "mfa") { $("mfa-form").hidden = false; $("code").focus(); }
        else if (r.stage === "enroll") { await startEnroll(); }
        else { location.href = "/app"; }
      } catch (e) { showError(e.message); }
    });
    $("mfa-form").addEventListener("submit", async (ev) => {
      ev.preventDefault(); showError("");
      const v = $("code").value.trim();
      const body = /^[0-9 ]{6,7}$/.test(v) ? { code: v } : { recovery_code: v };
      try { await api("POST", "/api/v1/auth/mfa", body); location.href = "/app"; }
      catch (e) { showError(e.message); }
    });
    $("enroll-form").addEventListener("submit", async (ev) => {
      ev.preventDefault(); showError("");
      try {
        const r = await api("POST", "/api/v1/mfa/confirm", { code: $("enroll-code").value.trim() });
        csrf = r.csrf_token; $("enroll").hidden = true;
        const ul = $("recovery-codes");
        r.recovery_codes.forEach((c) => { const li = document.createElement("li"); li.textContent = c; ul.appendChild(li); });
        $("recovery").hidden = false;
      } catch (e) { showError(e.message); }
    });
  }

  async function startEnroll() {
    const r = await api("POST", "/api/v1/mfa/enroll", {});
    $("totp-secret").textContent = r.secret_base32;
    // The SVG comes from our own server; shown as an image so no markup is injected.
    const img = document.createElement("img");
    img.alt = "QR code for your authenticator app";
    img.src = "data:image/svg+xml;base64," + btoa(r.qr_svg);
    $("qr").appendChild(img);
    $("enroll").hidden = false;
  }

  // ---- app page ----
  function app() {
    const so = $("sign-out");
    if (so) so.addEventListener("click", async () => {
      try { await api("POST", "/api/v1/auth/sign-out", {}); } catch (_) { /* signed out anyway */ }
      location.href = "/sign-in";
    });
    armIdle();
    const sf = $("search-form");
    if (sf) sf.addEventListener("submit", async (ev) => {
      ev.preventDefault(); showError("");
      try {
        const rows = await api("POST", "/api/v1/patients/search", { mrn: $("mrn").value.trim() });
        const tb = $("patients").tBodies[0]; clear(tb);
        if (!rows.length) { showError("No patient has that MRN."); }
        rows.forEach((p) => {
          const tr = document.createElement("tr");
          cell(tr, p.mrn); cell(tr, p.family + ", " + p.given); cell(tr, p.birth_date);
          const b = document.createElement("button"); b.type = "button"; b.textContent = "Select"; b.className = "select-patient";
          b.addEventListener("click", () => {
            const dp = $("draw-patient");
            if (dp) { dp.value = p.id; $("draw-for").textContent = "Draw for " + p.family + ", " + p.given + " (" + p.mrn + ")"; }
          });
          cell(tr, "").appendChild(b); tb.appendChild(tr);
        });
      } catch (e) { showError(e.message); }
    });
    const df = $("draw-form");
    if (df) df.addEventListener("submit", async (ev) => {
      ev.preventDefault(); showError("");
      if (!$("draw-patient").value) { showError("Pick a patient first."); return; }
      try {
        const s = await api("POST", "/api/v1/specimens", {
          patient_id: $("draw-patient").value, accession: $("accession").value.trim(),
          container: $("container").value, body_site: $("body-site").value,
        });
        $("draw-result").textContent = "Recorded draw " + s.accession + ".";
        loadCollections();
      } catch (e) { showError(e.message); }
    });
    const lh = $("load-held");
    if (lh) { lh.addEventListener("click", loadHeld); loadHeld(); }
    const lc = $("load-collections");
    if (lc) { lc.addEventListener("click", loadCollections); loadCollections(); }
    const rf = $("results-form");
    if (rf) rf.addEventListener("submit", async (ev) => {
      ev.preventDefault(); showError("");
      try {
        const rows = await api("GET", "/api/v1/results?accession=" + encodeURIComponent($("results-accession").value.trim()));
        const tb = $("results").tBodies[0]; clear(tb);
        rows.forEach((r) => {
          const tr = document.createElement("tr");
          [r.analyte_name, r.value, r.units, r.reference_range, r.abnormal_flag, r.status].forEach((t) => cell(tr, t));
          tb.appendChild(tr);
        });
      } catch (e) { if (e.status !== 403) showError(e.message); }
    });
  }

  async function loadHeld() {
    const t = $("held"); if (!t) return;
    try {
      const rows = await api("GET", "/api/v1/held-results");
      const tb = t.tBodies[0]; clear(tb);
      rows.forEach((h) => {
        const tr = document.createElement("tr");
        [h.result.analyte_name, h.result.value, h.result.units, h.reasons.join(", ")].forEach((x) => cell(tr, x));
        const td = cell(tr, "");
        [["release", "Release"], ["reject", "Reject"]].forEach(([what, label]) => {
          const b = document.createElement("button"); b.type = "button"; b.textContent = label; b.className = "held-" + what;
          b.addEventListener("click", async () => {
            showError("");
            try { await api("POST", "/api/v1/held-results/" + h.id + "/" + what, {}); loadHeld(); }
            catch (e) { showError(e.message); }
          });
          td.appendChild(b);
        });
        tb.appendChild(tr);
      });
    } catch (e) { if (e.status !== 403) showError(e.message); }
  }

  async function loadCollections() {
    const t = $("collections"); if (!t) return;
    try {
      const rows = await api("GET", "/api/v1/collections?limit=20");
      const tb = t.tBodies[0]; clear(tb);
      rows.forEach((s) => { const tr = document.createElement("tr"); [s.accession, s.container, s.collected_at, s.collector].forEach((x) => cell(tr, x)); tb.appendChild(tr); });
    } catch (e) { if (e.status !== 403) showError(e.message); }
  }


  // ---- audit log: verify with progress ----
  async function pollVerify() {
    const bar = $("verify-progress"), st = $("verify-status");
    try {
      const s = await api("GET", "/api/v1/audit/verify");
      if (s.total) { bar.max = s.total; bar.value = s.done; }
      if (s.state === "running") {
        bar.hidden = false;
        st.textContent = "Verifying: " + s.done + " of " + (s.total || "?") + " checked";
        setTimeout(pollVerify, 500);
      } else if (s.state === "passed") {
        bar.hidden = false; $("verify-log").disabled = false;
        st.className = "ok";
        st.textContent = "Log verified: " + s.entries + " entries, " + s.checkpoints + " signed checkpoints, " + s.rows + " records match their audited writes.";
      } else if (s.state === "failed") {
        $("verify-log").disabled = false;
        st.className = "error";
        st.textContent = "Verification FAILED: " + s.problem;
      }
    } catch (e) { showError(e.message); }
  }

  function auditPage() {
    const b = $("verify-log");
    if (!b) return;
    b.addEventListener("click", async () => {
      showError(""); b.disabled = true;
      $("verify-status").className = ""; $("verify-status").textContent = "Starting…";
      try { await api("POST", "/api/v1/audit/verify", {}); pollVerify(); }
      catch (e) { b.disabled = false; showError(e.message); }
    });
  }

  // ---- choosing a password (required after a one-time password) ----
  function passwordPage() {
    const f = $("password-change-form");
    if (!f) return;
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault(); showError("");
      const ul = $("password-problems"); clear(ul);
      if ($("new-password").value !== $("new-password-2").value) { showError("The two new passwords differ."); return; }
      try {
        await api("POST", "/api/v1/me/password", { current_password: $("current-password").value, new_password: $("new-password").value, revoke_tokens: $("revoke-tokens").checked });
        location.href = "/app";
      } catch (e) {
        const ps = (e.data && e.data.problems) || [];
        ps.forEach((p) => { const li = document.createElement("li"); li.textContent = p; ul.appendChild(li); });
        if (!ps.length) showError(e.message);
      }
    });
  }

  // ---- compliance: collect evidence now ----
  function compliancePage() {
    const b = $("collect-now");
    if (!b) return;
    b.addEventListener("click", async () => {
      b.disabled = true; $("collect-status").textContent = "Collecting…";
      try {
        const r = await api("POST", "/api/v1/compliance/collect", {});
        $("collect-status").textContent = r.evidence + " evidence records; score " + r.overall.toFixed(1) + "%";
        setTimeout(() => location.reload(), 800);
      } catch (e) { b.disabled = false; $("collect-status").textContent = ""; showError(e.message); }
    });
  }

  // ---- accounts ----
  function accountsPage() {
    const f = $("account-form");
    if (!f) return;
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault(); showError("");
      try {
        const r = await api("POST", "/api/v1/accounts", {
          username: $("new-username").value.trim(), display_name: $("new-display").value.trim(),
          role: $("new-role").value, email: $("new-email").value.trim(),
        });
        $("account-created").textContent = "Created " + r.account.username + ". One-time password (shown once, hand over in person): " + r.initial_password;
      } catch (e) { showError(e.message); }
    });
    document.querySelectorAll(".disable-account, .unlock-account").forEach((b) => {
      b.addEventListener("click", async () => {
        showError("");
        const u = b.dataset.username, disable = b.classList.contains("disable-account");
        if (disable && !confirm("Disable " + u + "? Their sessions and API tokens end at once.")) return;
        try {
          await api("POST", "/api/v1/accounts/" + encodeURIComponent(u) + (disable ? "/disable" : "/unlock"), {});
          if (disable) b.closest("tr").querySelector(".status").textContent = "disabled";
          b.textContent = disable ? "Disabled" : "Unlocked"; b.disabled = true;
        } catch (e) { showError(e.message); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = (document.querySelector("main") || {}).dataset || {};
    if (page.page === "sign-in") signIn(); else { app(); auditPage(); accountsPage(); passwordPage(); compliancePage(); }
  });
})();
