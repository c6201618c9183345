// Readable names for route-sync's wire enums: "UpdateMessageError" -> "Update Message Error".
import {
  CeaseSubcode,
  FsmErrorSubcode,
  HeaderErrorSubcode,
  NotificationCode,
  OpenErrorSubcode,
  RouteRefreshErrorSubcode,
  UpdateErrorSubcode,
} from '@weft/route-sync';

/** The enum member name of `value` split into words, or '' when `value` is not a member. */
export function enumWords(e: Record<string | number, string | number>, value: number): string {
  const name = e[value];
  if (typeof name !== 'string' || name === 'Unrecognized') return '';
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z])([A-Z][a-z])/g, '$1 $2');
}

const SUBCODES: Record<number, Record<string | number, string | number>> = {
  [NotificationCode.MessageHeaderError]: HeaderErrorSubcode,
  [NotificationCode.OpenMessageError]: OpenErrorSubcode,
  [NotificationCode.UpdateMessageError]: UpdateErrorSubcode,
  [NotificationCode.FsmError]: FsmErrorSubcode,
  [NotificationCode.Cease]: CeaseSubcode,
  [NotificationCode.RouteRefreshMessageError]: RouteRefreshErrorSubcode,
};

/** Names of a NOTIFICATION error code and subcode (RFC 4271 §4.5, §6; RFC 4486; RFC 7313). */
export function bgpNotificationName(code: number, subcode: number): { code: string; subcode: string } {
  const sub = SUBCODES[code];
  return {
    code: enumWords(NotificationCode, code) || `error code ${code}`,
    subcode: (sub && enumWords(sub, subcode)) || (subcode === 0 ? 'unspecific' : `subcode ${subcode}`),
  };
}
