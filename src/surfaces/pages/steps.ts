// What each step of a verification flow renders on the page (routes.ts drives the steps): the
// sign-in form, the code form, the consent screen, the done and failed pages, with the message about
// the last submission when there is one.
import type { RequestContext } from '../../model/records.ts';
import { MAX_CODE_ATTEMPTS, type FlowView } from '../../core/verification.ts';
import type { Attribution } from '../../geoip/geoip.ts';
import type { PageContext } from './context.ts';
import { devicesLink } from './signed-in-devices.ts';
import { codePage, consentPage, donePage, failedPage, signInPage, type FormContext, type FormError } from './render.ts';

export interface SignInChoices {
  providers: { displayName: string; href: string }[];
  passwordSignIn: boolean;
}

/** The page for the flow's current step, optionally with a message about the last submission. */
export function renderStep(
  c: PageContext,
  view: FlowView,
  form: FormContext,
  o: {
    userCode?: string; username?: string; error?: FormError; errorCode?: string; toDevices?: boolean; attributions?: readonly Attribution[];
    /** The sign-in step's choices: the environment's providers and whether passwords are accepted. */
    signIn?: SignInChoices;
    /** Where the person is now (the consent screen's warning names their network). */
    viewer?: RequestContext;
  } = {},
): string {
  const appName = view.application?.name;
  // Once someone is signed in, every later step offers "Your devices".
  const more = view.user === undefined ? undefined : devicesLink(c, form.flowId);
  switch (view.flow.status) {
    case 'USERNAME_PASSWORD_REQUIRED':
      return signInPage(c, { form, appName, username: o.username, userCode: o.userCode, toDevices: o.toDevices, error: o.error, ...o.signIn });
    case 'DAG_USER_CODE_REQUIRED':
      return codePage(c, { form, appName, userCode: o.userCode, error: o.error, more });
    case 'DAG_CONSENT_REQUIRED':
      return consentPage(c, {
        form,
        appName,
        username: view.user === undefined ? undefined : view.user.name ?? view.user.username,
        userCode: view.userCode,
        scopes: view.scopes ?? [],
        request: view.request,
        warnings: view.warnings,
        viewer: o.viewer,
        attributions: o.attributions,
        error: o.error,
        canDecide: !['user_code_expired', 'user_code_used', 'access_denied'].includes(o.errorCode ?? ''),
        more,
      });
    case 'COMPLETED':
      return donePage(c, { appName, more });
    case 'FAILED':
      return failedPage(c, { tooManyCodes: view.flow.failedAttempts >= MAX_CODE_ATTEMPTS, reported: view.reported, appName, error: o.error, more });
  }
}
