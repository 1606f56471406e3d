/** The chat page: the conversation list beside the open conversation (or a prompt to start one). */
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { useT } from '../../i18n';
import { ConversationList } from './ConversationList';
import { ConversationView } from './ConversationView';
import { NewConversationDialog } from './NewConversationDialog';

export default function ChatPage() {
  const { conversationId } = useParams();
  const navigate = useNavigate();
  const t = useT();
  const [creating, setCreating] = useState(false);
  return (
    <div className={conversationId === undefined ? 'chat' : 'chat chat-open'}>
      <ConversationList activeId={conversationId} onNew={() => setCreating(true)} />
      {conversationId === undefined ? (
        <section className="chat-empty">
          <h1>{t('chat.welcome')}</h1>
          <p className="muted">{t('chat.welcomeHint')}</p>
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            {t('chat.new')}
          </button>
        </section>
      ) : (
        <ConversationView key={conversationId} id={conversationId} />
      )}
      {creating && (
        <NewConversationDialog
          onClose={() => setCreating(false)}
          onCreated={(id) => {
            setCreating(false);
            void navigate(`/chat/${id}`);
          }}
        />
      )}
    </div>
  );
}
