/**
 * SyncSmart near-real-time notifications for NetSuite (NetSuite has no outbound webhooks).
 *
 * Deploy this user-event script on the Customer, Contact and Opportunity records. After every
 * create, edit, inline edit, xedit or delete it POSTs the record's type and internal id to the
 * integration's webhook URL, signed with HMAC-SHA256 so SyncSmart can tell it came from your
 * account. SyncSmart then reads the record itself through REST web services; its scheduled
 * SuiteQL poll keeps running, so a notification that is lost only costs a few minutes.
 *
 * Script parameters (Customization > Scripting > Scripts > this script > Parameters):
 *   custscript_syncsmart_url     Free-form text: the webhook URL shown on the integration's
 *                                NetSuite page, e.g. https://sync.example.com/webhooks/42/other
 *   custscript_syncsmart_secret  Free-form text: the SCRIPT ID of an API secret
 *                                (Setup > Company > API Secrets) holding the signing secret shown
 *                                on the same page, e.g. custsecret_syncsmart. The secret itself
 *                                never appears in the script or its parameters.
 *
 * The request SyncSmart verifies:
 *   POST <url>
 *   Content-Type: application/json
 *   X-SyncSmart-Timestamp: <unix seconds>
 *   X-SyncSmart-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
 *   {"type": "customer", "id": "123", "event": "edit", "occurredAt": "2026-12-07T15:00:00.000Z", "account": "1234567"}
 * Notifications older than five minutes are refused (a replayed capture).
 *
 * @NApiVersion 2.1
 * @NScriptType UserEventScript
 * @NModuleScope SameAccount
 */
define(['N/https', 'N/crypto', 'N/encode', 'N/runtime', 'N/log'], (https, crypto, encode, runtime, log) => {
  const EVENTS = {
    create: 'create',
    edit: 'edit',
    xedit: 'edit',
    delete: 'delete',
  };

  const sign = (secretScriptId, message) => {
    const key = crypto.createSecretKey({ secret: secretScriptId, encoding: encode.Encoding.UTF_8 });
    const hmac = crypto.createHmac({ algorithm: crypto.HashAlg.SHA256, key });
    hmac.update({ input: message, inputEncoding: encode.Encoding.UTF_8 });
    return hmac.digest({ outputEncoding: encode.Encoding.HEX }).toLowerCase();
  };

  const afterSubmit = (context) => {
    const event = EVENTS[context.type];
    if (!event) return;
    const script = runtime.getCurrentScript();
    const url = script.getParameter({ name: 'custscript_syncsmart_url' });
    const secret = script.getParameter({ name: 'custscript_syncsmart_secret' });
    if (!url || !secret) {
      log.audit({ title: 'SyncSmart', details: 'Not configured: set the URL and secret parameters.' });
      return;
    }
    const record = context.type === 'delete' ? context.oldRecord : context.newRecord;
    const body = JSON.stringify({
      type: record.type,
      id: String(record.id),
      event,
      occurredAt: new Date().toISOString(),
      account: runtime.accountId,
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const response = https.post({
        url,
        body,
        headers: {
          'Content-Type': 'application/json',
          'X-SyncSmart-Timestamp': timestamp,
          'X-SyncSmart-Signature': `v1=${sign(secret, `${timestamp}.${body}`)}`,
        },
      });
      if (response.code >= 300) {
        log.error({ title: 'SyncSmart', details: `Webhook answered ${response.code} for ${record.type} ${record.id}` });
      }
    } catch (e) {
      // Never block the user's save: the scheduled SuiteQL poll picks the change up.
      log.error({ title: 'SyncSmart', details: `Could not notify: ${e.message}` });
    }
  };

  return { afterSubmit };
});
