// A small account app built from Ory Elements React's default theme, the way
// an application would embed it: each page reads its flow id from the query,
// fetches the flow through the fetch SDK and hands it to the Elements
// component. The API is reached on this page's own origin (the app server
// forwards API paths to Bia), so `sdk.url` is `location.origin`.
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Configuration, FrontendApi } from '@ory/client-fetch';
import { Error as ErrorCard, Login, Recovery, Registration, Settings } from '@ory/elements-react/theme';
import { SessionProvider } from '@ory/elements-react/client';
import '@ory/elements-react/theme/styles.css';

const origin = window.location.origin;
const frontend = new FrontendApi(
  new Configuration({ basePath: origin, credentials: 'include', headers: { Accept: 'application/json' } }),
);

const config = {
  sdk: { url: origin },
  project: {
    name: 'Bia',
    default_redirect_url: `${origin}/welcome`,
    error_ui_url: `${origin}/error`,
    login_ui_url: `${origin}/login`,
    registration_ui_url: `${origin}/registration`,
    settings_ui_url: `${origin}/settings`,
    recovery_ui_url: `${origin}/recovery`,
    verification_ui_url: `${origin}/verification`,
    registration_enabled: true,
    recovery_enabled: true,
    verification_enabled: false,
  },
};

/** The self-service flows this app renders: how to fetch one and what shows it. */
const flows = {
  login: { fetch: (id) => frontend.getLoginFlow({ id }), View: Login },
  registration: { fetch: (id) => frontend.getRegistrationFlow({ id }), View: Registration },
  settings: { fetch: (id) => frontend.getSettingsFlow({ id }), View: Settings },
  recovery: { fetch: (id) => frontend.getRecoveryFlow({ id }), View: Recovery },
};

/** Starts a new browser flow of `kind` at the API, keeping a `return_to`. */
function startFlow(kind) {
  const returnTo = new URLSearchParams(window.location.search).get('return_to');
  const query = returnTo ? `?${new URLSearchParams({ return_to: returnTo })}` : '';
  window.location.assign(`${origin}/self-service/${kind}/browser${query}`);
}

/** Fetches the flow named by `?flow=`, or starts a new one when there is none or it is gone. */
function useFlow(kind) {
  const [state, setState] = useState({});
  useEffect(() => {
    const id = new URLSearchParams(window.location.search).get('flow');
    if (!id) {
      startFlow(kind);
      return;
    }
    flows[kind]
      .fetch(id)
      .then((flow) => setState({ flow }))
      .catch(async (error) => {
        const status = error.response?.status;
        // Unknown, expired or foreign flows, and settings without a session,
        // are started again: the API sends the browser where it must go.
        if ([401, 403, 404, 410].includes(status)) {
          startFlow(kind);
          return;
        }
        const body = await error.response?.text().catch(() => '');
        setState({ failure: `${status ?? ''} ${body ?? String(error)}` });
      });
  }, [kind]);
  return state;
}

/** Centres a card on the page (the settings page lays itself out). */
const Centred = ({ children }) => (
  <div style={{ display: 'flex', justifyContent: 'center', padding: '2rem 1rem' }}>{children}</div>
);

function FlowPage({ kind }) {
  const { flow, failure } = useFlow(kind);
  if (failure) return <pre id="failure">{failure}</pre>;
  if (!flow) return null;
  const { View } = flows[kind];
  const view = <View flow={flow} config={config} />;
  return kind === 'settings' ? view : <Centred>{view}</Centred>;
}

function ErrorPage() {
  const [error, setError] = useState();
  useEffect(() => {
    const id = new URLSearchParams(window.location.search).get('id') ?? '';
    frontend
      .getFlowError({ id })
      .then(setError)
      .catch(() => setError({ error: { code: 500, message: 'The error could not be loaded.' } }));
  }, []);
  return error ? <Centred><ErrorCard error={error} config={config} /></Centred> : null;
}

/** Where browsers land after signing in: who is signed in, and a way on. */
function WelcomePage() {
  const [session, setSession] = useState();
  useEffect(() => {
    frontend.toSession().then(setSession, () => setSession(null));
  }, []);
  if (session === undefined) return null;
  if (session === null) {
    return (
      <main>
        <p id="signed-out">You are not signed in.</p>
        <a href="/login">Sign in</a> <a href="/registration">Sign up</a>
      </main>
    );
  }
  return (
    <main>
      <p id="signed-in">Signed in as {session.identity?.traits?.email}</p>
      <a href="/settings">Account settings</a>
    </main>
  );
}

function Page() {
  const kind = window.location.pathname.replace(/^\//, '');
  if (kind in flows) return <FlowPage kind={kind} />;
  if (kind === 'error') return <ErrorPage />;
  return <WelcomePage />;
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <SessionProvider baseUrl={origin}>
      <Page />
    </SessionProvider>
  </StrictMode>,
);
