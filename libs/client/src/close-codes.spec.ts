import { closeAction } from './close-codes';

describe(closeAction.name, () => {
  const welcomed = { welcomed: true, canGetToken: true };

  it.each([
    [4001, welcomed, { newToken: true, rotate: false, immediate: false, stop: false }],
    [4001, { welcomed: false, canGetToken: false }, { stop: true }],
    [4003, welcomed, { stop: true }],
    [1012, welcomed, { rotate: true, immediate: true }],
    [1012, { welcomed: false, canGetToken: true }, { rotate: true, immediate: false }],
    [1013, welcomed, { rotate: true, immediate: false }],
    [1008, welcomed, { report: 'policy_violation', immediate: false, rotate: false }],
    [1009, welcomed, { report: 'message_too_big', immediate: false, rotate: false }],
    [1006, welcomed, { rotate: false, immediate: false, stop: false, newToken: false }],
    [1006, { welcomed: false, canGetToken: true }, { rotate: true, immediate: false }],
    [1000, welcomed, { rotate: false, immediate: false }],
  ])('%i %j → %j', (code, context, expected) => {
    expect(closeAction(code, context)).toMatchObject(expected);
  });
});
