// The roles as the Users screen offers them for editing, with the practice's words for each. The
// only place in the UI that names roles: no screen shows or hides anything by role (it follows the
// user's abilities, which the core gives at logon; tests/no-role-names.test.ts keeps it so).
import type { Role } from '../bindings';

export const ROLES: { id: Role; label: string; about: string }[] = [
  { id: 'admin', label: 'Administrator', about: 'manages users and roles; reaches no calls by itself' },
  { id: 'approver', label: 'Approver', about: 'a GP partner or the practice business manager, who approves requests to listen' },
  { id: 'data-controller', label: 'Data controller', about: 'subject access requests, police requests, erasure, and the archive settings' },
  { id: 'supervisor', label: 'Supervisor', about: 'reaches every call once a request is approved; runs retention and deletes calls' },
  { id: 'clinician', label: 'Clinician', about: 'their own calls only' },
  { id: 'staff', label: 'Staff', about: 'their own calls only' },
];

export function roleLabel(id: Role): string {
  return ROLES.find((r) => r.id === id)?.label ?? id;
}
