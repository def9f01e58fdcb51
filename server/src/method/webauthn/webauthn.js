// Bia's WebAuthn script, served at /.well-known/ory/webauthn.js.
//
// The WebAuthn and passkey nodes of a flow name these functions in their
// `onclickTrigger` and `onloadTrigger` attributes (and call them in their
// `onclick` and `onload` attributes). Each runs one browser ceremony,
// writes the authenticator's answer as JSON into the form field the flow
// expects, and submits that field's form. Elements carrying
// `data-onclick-trigger` or `data-onload-trigger` (the built-in account UI,
// whose pages run no inline script) are wired up when the page is ready.
(function () {
  'use strict';

  if (window.oryWebAuthnLogin) {
    return;
  }

  /** base64url (padded or not) to bytes. */
  function bytes(text) {
    var base64 = String(text).replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
    while (base64.length % 4) {
      base64 += '=';
    }
    var raw = atob(base64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      out[i] = raw.charCodeAt(i);
    }
    return out;
  }

  /** Bytes (an ArrayBuffer) to unpadded base64url. */
  function text(buffer) {
    if (!buffer) {
      return null;
    }
    var view = new Uint8Array(buffer);
    var raw = '';
    for (var i = 0; i < view.length; i++) {
      raw += String.fromCharCode(view[i]);
    }
    return btoa(raw).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  /** Options given as an object or as its JSON text. */
  function parsed(options) {
    return typeof options === 'string' ? JSON.parse(options) : JSON.parse(JSON.stringify(options));
  }

  function field(name) {
    return document.querySelector('[name="' + name + '"]');
  }

  function creationOptions(options) {
    var publicKey = options.publicKey;
    publicKey.challenge = bytes(publicKey.challenge);
    publicKey.user.id = bytes(publicKey.user.id);
    (publicKey.excludeCredentials || []).forEach(function (c) {
      c.id = bytes(c.id);
    });
    return { publicKey: publicKey };
  }

  function requestOptions(options, mediation, signal) {
    var publicKey = options.publicKey;
    publicKey.challenge = bytes(publicKey.challenge);
    (publicKey.allowCredentials || []).forEach(function (c) {
      c.id = bytes(c.id);
    });
    var request = { publicKey: publicKey };
    if (mediation) {
      request.mediation = mediation;
    }
    if (signal) {
      request.signal = signal;
    }
    return request;
  }

  function extensions(credential) {
    return credential.getClientExtensionResults ? credential.getClientExtensionResults() : {};
  }

  /**
   * The authenticator's answer as JSON text: the parts of its response that
   * `names` lists (binary, sent as base64url), and `more` as they are.
   */
  function answerJson(credential, names, more) {
    var response = Object.assign({}, more);
    names.forEach(function (name) {
      response[name] = text(credential.response[name]);
    });
    return JSON.stringify({
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: response,
      extensions: extensions(credential),
    });
  }

  function attestationJson(credential) {
    var response = credential.response;
    return answerJson(credential, ['attestationObject', 'clientDataJSON'], {
      transports: response.getTransports ? response.getTransports() : undefined,
    });
  }

  function assertionJson(credential) {
    var names = ['authenticatorData', 'clientDataJSON', 'signature', 'userHandle'];
    return answerJson(credential, names, {});
  }

  /** Writes `value` into the field `name` and submits its form. */
  function submitWith(name, value) {
    var input = field(name);
    if (!input || !input.form) {
      throw new Error('the form has no field named ' + name);
    }
    input.value = value;
    input.form.submit();
  }

  function failed(error) {
    if (error && error.name === 'AbortError') {
      return;
    }
    console.error('WebAuthn ceremony failed', error);
    window.alert('The security key or passkey did not answer: ' + (error && error.message));
  }

  function supported() {
    if (window.PublicKeyCredential && navigator.credentials) {
      return true;
    }
    window.alert('This browser does not support security keys or passkeys.');
    return false;
  }

  /**
   * Asks the authenticator (`navigator.credentials[call]`) with `options`
   * made ready by `prepare`, and submits its answer, as `encode` writes it,
   * in `fieldName`.
   */
  function ask(call, prepare, encode, fieldName, options) {
    if (!supported()) {
      return;
    }
    navigator.credentials[call](prepare(parsed(options)))
      .then(function (credential) {
        submitWith(fieldName, encode(credential));
      })
      .catch(failed);
  }

  /** Adds a security key: `options` are the trigger's creation options. */
  function oryWebAuthnRegistration(options) {
    ask('create', creationOptions, attestationJson, 'webauthn_register', options);
  }

  /** Signs in with a security key: `options` are the trigger's request options. */
  function oryWebAuthnLogin(options) {
    ask('get', requestOptions, assertionJson, 'webauthn_login', options);
  }

  var pending = null;

  function passkeyChallenge() {
    var input = field('passkey_challenge');
    return input && input.value ? parsed(input.value) : null;
  }

  /** Signs in with a passkey the user picks. */
  function oryPasskeyLogin() {
    var options = passkeyChallenge();
    if (!options || !supported()) {
      return;
    }
    if (pending) {
      pending.abort();
      pending = null;
    }
    navigator.credentials
      .get(requestOptions(options))
      .then(function (credential) {
        submitWith('passkey_login', assertionJson(credential));
      })
      .catch(failed);
  }

  /** Offers the browser's passkeys in the identifier field's autofill. */
  function oryPasskeyLoginAutocompleteInit() {
    var options = passkeyChallenge();
    if (!options || !window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) {
      return;
    }
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available) {
        return;
      }
      pending = new AbortController();
      navigator.credentials
        .get(requestOptions(options, 'conditional', pending.signal))
        .then(function (credential) {
          submitWith('passkey_login', assertionJson(credential));
        })
        .catch(failed);
    });
  }

  /** Creates a passkey with the flow's creation data, named after the form's display name field. */
  function createPasskey(resultName) {
    var input = field('passkey_create_data');
    if (!input || !input.value || !supported()) {
      return;
    }
    var data = parsed(input.value);
    var options = creationOptions(data.credentialOptions);
    var nameField = data.displayNameFieldName ? field(data.displayNameFieldName) : null;
    if (nameField && nameField.value) {
      options.publicKey.user.name = nameField.value;
      options.publicKey.user.displayName = nameField.value;
    }
    if (pending) {
      pending.abort();
      pending = null;
    }
    navigator.credentials
      .create(options)
      .then(function (credential) {
        submitWith(resultName, attestationJson(credential));
      })
      .catch(failed);
  }

  /** Signs up with a passkey. */
  function oryPasskeyRegistration() {
    createPasskey('passkey_register');
  }

  /** Adds a passkey in settings. */
  function oryPasskeySettingsRegistration() {
    createPasskey('passkey_settings_register');
  }

  var functions = {
    oryWebAuthnRegistration: oryWebAuthnRegistration,
    oryWebAuthnLogin: oryWebAuthnLogin,
    oryPasskeyLogin: oryPasskeyLogin,
    oryPasskeyLoginAutocompleteInit: oryPasskeyLoginAutocompleteInit,
    oryPasskeyRegistration: oryPasskeyRegistration,
    oryPasskeySettingsRegistration: oryPasskeySettingsRegistration,
  };
  Object.keys(functions).forEach(function (name) {
    window[name] = functions[name];
    window['__' + name] = functions[name];
  });

  /** Wires up the elements that name a trigger in data attributes. */
  function wire() {
    document.querySelectorAll('[data-onclick-trigger]').forEach(function (element) {
      var run = functions[element.getAttribute('data-onclick-trigger')];
      if (!run) {
        return;
      }
      element.addEventListener('click', function (event) {
        event.preventDefault();
        run(element.value || undefined);
      });
    });
    document.querySelectorAll('[data-onload-trigger]').forEach(function (element) {
      var run = functions[element.getAttribute('data-onload-trigger')];
      if (run) {
        run();
      }
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', wire);
  } else {
    wire();
  }
})();
