// A chat's own menu in the list: pin, mute (for how long), archive, mark as unread or read.
// The server keeps the settings (PATCH /api/conversations/{username}); the person's other
// devices follow through the chat_settings update.
import { api } from '/api.js';
import { t } from '/i18n.js';
import { applyChatSettings } from '/model.js';
import { ask } from '/ui/dialog.js';

const MUTES = ['1h', '8h', '1d', 'always'];

export function isMuted(chat) {
  return chat.muted_until != null && Date.parse(chat.muted_until) > Date.now();
}

export async function openChatMenu(chat) {
  const peer = chat.peer.username;
  const muted = isMuted(chat);
  const answers = [
    { label: chat.pinned ? t('chat_unpin') : t('chat_pin'), value: 'pin' },
    { label: muted ? t('chat_unmute') : t('chat_mute'), value: 'mute' },
    { label: chat.archived ? t('chat_unarchive') : t('chat_archive'), value: 'archive' },
    { label: chat.marked_unread || chat.unread_count > 0 ? t('chat_mark_read') : t('chat_mark_unread'), value: 'unread' },
  ];
  const answer = await ask({ title: chat.peer.display_name || peer, answers });
  if (answer === 'pin') return change(peer, { pinned: !chat.pinned });
  if (answer === 'archive') return change(peer, { archived: !chat.archived });
  if (answer === 'unread') return toggleUnread(chat);
  if (answer !== 'mute') return null;
  if (muted) return change(peer, { mute: 'off' });
  const duration = await ask({ title: t('chat_mute'), answers: MUTES.map((value) => ({ label: t(`chat_mute_${value}`), value })) });
  return duration ? change(peer, { mute: duration }) : null;
}

// Mark as read reads what the peer sent too; mark as unread only marks the chat.
async function toggleUnread(chat) {
  const peer = chat.peer.username;
  if (!(chat.marked_unread || chat.unread_count > 0)) return change(peer, { marked_unread: true });
  if (chat.unread_count > 0 && chat.last_message?.id != null) await api.markRead(peer, chat.last_message.id).catch(() => {});
  return change(peer, { marked_unread: false });
}

export async function change(peer, changes) {
  try {
    applyChatSettings(peer, await api.changeChat(peer, changes));
  } catch (error) {
    if (error?.code === 'too_many_pinned') await ask({ title: t('chat_pin'), text: t('chat_too_many_pinned'), answers: [] });
  }
}
