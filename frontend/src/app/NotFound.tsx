/** NotFound is the page of unknown paths inside the app. */
import { Link } from 'react-router';
import { useT } from '../i18n';

export default function NotFound() {
  const t = useT();
  return (
    <div className="page">
      <h1>{t('error.notFound')}</h1>
      <Link to="/chat">{t('nav.chat')}</Link>
    </div>
  );
}
